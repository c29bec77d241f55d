// The winston implementation of `Logger`, for the applications' `main.ts`; libraries import only the package root.
export { type CreateLoggerOptions, createLogger, type LogFormat, type RootLogger } from "./create-logger.js";
export type { LogLevel, LogThreshold } from "../logger.js";
export { logProcessWarnings, type WarningSource } from "./process-warnings.js";
