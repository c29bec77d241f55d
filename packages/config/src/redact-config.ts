import { redactSecrets } from "@barito-flow/logger";

/**
 * A copy of `config` fit for a startup log line: the values of secret-named settings and the passwords inside URLs
 * replaced by "[REDACTED]", with the same rules as every log entry (`@barito-flow/logger`).
 */
export function redactConfig<T>(config: T): T {
  return redactSecrets(config);
}
