export { type CreateLoggerOptions, createLogger, type LogFormat, type RootLogger } from "./create-logger.js";
export { type Logger, type LogLevel, type LogMeta, type LogThreshold, logLevels, noopLogger } from "./logger.js";
export { isSecretKey, REDACTED, redactUrlCredentials } from "./redact.js";
export { sanitizeFields } from "./sanitize.js";
export type { SerializedError } from "./serialize-error.js";
export { logProcessWarnings, type WarningSource } from "./process-warnings.js";
