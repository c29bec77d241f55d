// The dependency-free root: what every library may import. The winston implementation is `@barito-flow/logger/winston`.
export { type Logger, type LogMeta, noopLogger } from "./logger.js";
export { isSecretKey, REDACTED, redactSecrets, redactText } from "./secrets.js";
