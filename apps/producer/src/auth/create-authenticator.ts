import type { Logger } from "@barito-flow/logger";
import type { Authenticator } from "../produce/ports.js";
import { type AuthFailureReason, createAppAuthenticator, type SecretSource } from "./app-authenticator.js";
import type { AuthSettings } from "./auth-config.js";
import { createFailureLockout } from "./failure-lockout.js";
import { createFileSecretSource } from "./file-secret-source.js";
import { createMarketSecretSource } from "./market-secret-source.js";
import { createSecretDigester } from "./secret-digest.js";
import { parseSecretTable } from "./secret-table.js";

/**
 * The authenticator of BARITO_PRODUCER_AUTH, with its source (inline table, polled file or market), or undefined
 * for `none`. Called by main.ts: the file and the market are I/O. Throws SecretTableError for a file that cannot be
 * read at start.
 */
export function createAuthenticator(
  settings: AuthSettings,
  logger: Logger,
  onFailure: (reason: AuthFailureReason) => void,
): { authenticator: Authenticator; stop(): void } | undefined {
  if (settings.mode === "none") return undefined;
  const digester = createSecretDigester();
  const { source: config } = settings;
  let source: SecretSource;
  let stop = () => {};
  switch (config.kind) {
    case "inline":
      source = parseSecretTable(config.secrets, digester);
      break;
    case "file": {
      const file = createFileSecretSource({ path: config.path, digester, intervalMs: config.reloadIntervalMs, logger });
      source = file;
      stop = file.stop;
      break;
    }
    case "market":
      source = createMarketSecretSource({ ...config, digester, logger });
      break;
  }
  const lockout = createFailureLockout(settings.lockout);
  return { authenticator: createAppAuthenticator({ source, lockout, onFailure }), stop };
}
