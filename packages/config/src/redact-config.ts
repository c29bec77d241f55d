export const REDACTED = "[REDACTED]";

// Compared without case, `_` or `-`: `password`, `ELASTIC_PASSWORD`, `marketClientKey`, `app_secret`.
const secretFragments = ["password", "passwd", "secret", "token", "clientkey", "apikey", "privatekey", "credential"];
// Paths to key files are not secrets, and seeing them helps when TLS setup fails.
const safeSuffixes = ["path", "file"];

export function isSecretConfigKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[-_]/g, "");
  if (safeSuffixes.some((suffix) => normalised.endsWith(suffix))) return false;
  return secretFragments.some((fragment) => normalised.includes(fragment));
}

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):([^\s/@]*)@/gi;

/** `redis://user:pass@host` -> `redis://user:[REDACTED]@host`. */
export function redactUrlCredentials(text: string): string {
  return text.includes("@") ? text.replace(urlCredentials, `$1:${REDACTED}@`) : text;
}

/** A copy of `config` with secrets replaced by "[REDACTED]": secret-named keys and passwords inside URLs. */
export function redactConfig<T>(config: T): T {
  return redact(config, "") as T;
}

function redact(value: unknown, key: string): unknown {
  if (key !== "" && isSecretConfigKey(key) && value !== undefined && value !== null && value !== "") return REDACTED;
  if (typeof value === "string") return redactUrlCredentials(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, ""));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(value)) out[childKey] = redact(child, childKey);
    return out;
  }
  return value;
}

/** The redacted configuration as one JSON line, for a startup log entry. */
export function formatConfigForLog(config: unknown): string {
  return JSON.stringify(redactConfig(config), (_key, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value,
  );
}
