import type { SecretDigester } from "./secret-digest.js";

/** What a known secret may do: the `kafka_topic` values (as clients send them) it may write. */
export interface AppGrant {
  topics: ReadonlySet<string>;
}

/** A secrets table that could not be read. The message never quotes the input: it holds the secrets. */
export class SecretTableError extends Error {
  override readonly name = "SecretTableError";
  readonly code = "INVALID_SECRETS" as const;
}

export interface SecretTable {
  readonly size: number;
  lookup(secret: string): AppGrant | undefined;
}

/** JSON.parse's messages quote the text around the error (the secrets); keep only where it is. */
function jsonProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  const position = /position (\d+)/.exec(message)?.[1];
  return position === undefined ? "not valid JSON" : `not valid JSON (at character ${position})`;
}

const maxTopicsPerSecret = 1_000;

/**
 * Reads `{"<app_secret>": ["<kafka_topic>", ...], ...}` (BARITO_PRODUCER_AUTH_SECRETS or the file of
 * BARITO_PRODUCER_AUTH_SECRETS_FILE). Entries are named by their position in problems, never by their secret.
 */
export function parseSecretTable(text: string, digester: SecretDigester): SecretTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SecretTableError(jsonProblem(err));
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new SecretTableError('must be a JSON object mapping each app secret to its topics: {"<secret>": ["topic"]}');
  }
  const entries = new Map<string, { digest: Buffer; grant: AppGrant }>();
  let position = 0;
  for (const [secret, topics] of Object.entries(json)) {
    position++;
    const where = `entry ${position}`;
    if (secret.trim() === "") throw new SecretTableError(`${where}: the app secret is empty`);
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new SecretTableError(`${where}: must list the kafka_topic values it may write, e.g. ["shop"]`);
    }
    if (topics.length > maxTopicsPerSecret) {
      throw new SecretTableError(`${where}: more than ${maxTopicsPerSecret} topics`);
    }
    if (!topics.every((topic) => typeof topic === "string" && topic !== "")) {
      throw new SecretTableError(`${where}: every topic must be a non-empty string`);
    }
    const digest = digester.digest(secret);
    entries.set(digester.key(digest), { digest, grant: { topics: new Set(topics as string[]) } });
  }
  return {
    size: entries.size,
    lookup(secret) {
      const digest = digester.digest(secret);
      const entry = entries.get(digester.key(digest));
      return entry !== undefined && digester.same(entry.digest, digest) ? entry.grant : undefined;
    },
  };
}
