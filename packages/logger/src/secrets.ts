/** What every redacted secret is replaced with, in logs, errors and printed configuration alike. */
export const REDACTED = "[REDACTED]";

// Keys are compared without case, `_`, `-`, `.` or spaces, so `app_secret`, `appSecret` and `APP-SECRET` are the same.
const secretFragments = [
  "password",
  "passwd",
  "secret",
  "authorization",
  "apikey",
  "clientkey",
  "privatekey",
  "credential",
  "cookie",
  "sessionid",
];
// `token` only as a suffix: `accessToken` is a secret, `remainingTokens` (a rate-limit count) is not.
const secretSuffixes = ["token"];
const secretWords = new Set(["auth", "pass", "pwd"]);
// librdkafka property names: every `sasl.*` (credentials and their mechanism) and `ssl.key*` (the private key, its
// password, the keystore) may echo in the client's debug contexts.
const secretPrefixes = ["sasl.", "ssl.key"];
// Paths to key files are not secrets, and seeing them helps when TLS setup fails.
const safeSuffixes = ["path", "file"];

/** Whether a field name looks like it holds a secret (password, app secret, token, client key, SASL setting, ...). */
export function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  if (secretPrefixes.some((prefix) => lower.startsWith(prefix))) return true;
  const normalised = lower.replace(/[-_\s.]/g, "");
  if (safeSuffixes.some((suffix) => normalised.endsWith(suffix))) return false;
  return (
    secretWords.has(normalised) ||
    secretFragments.some((fragment) => normalised.includes(fragment)) ||
    secretSuffixes.some((suffix) => normalised.endsWith(suffix))
  );
}

// scheme://user:password@host keeps the user; scheme://credential@host (a token as user name) loses all of it. The
// password runs to the last `@` before the path, so an unescaped `@` inside it does not leave its tail visible.
const urlUserinfo = /([a-z][a-z0-9+.-]*:\/\/)(?:([^\s/@:]*):)?([^\s/]*)@/gi;
// Shorter known values would also match ordinary words and numbers in the text.
const minKnownSecretLength = 4;

/**
 * Masks secrets inside free text (messages, stacks, string values): the credentials of URLs such as
 * `redis://user:pass@host:6379` and every occurrence of a secret value the caller knows (a SASL password).
 */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let result = text;
  for (const secret of knownSecrets) {
    if (secret.length >= minKnownSecretLength && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  if (!result.includes("@")) return result;
  return result.replace(urlUserinfo, (_match, scheme: string, user: string | undefined) =>
    user === undefined ? `${scheme}${REDACTED}@` : `${scheme}${user}:${REDACTED}@`,
  );
}

/** Whether a secret-named field holds something to hide; unset ones stay visible as unset. */
export function holdsSecret(key: string, value: unknown): boolean {
  return key !== "" && value !== undefined && value !== null && value !== "" && isSecretKey(key);
}

/**
 * A copy of plain data (a configuration, a client's log context) with secrets replaced by `REDACTED`: the values of
 * secret-named keys at any depth, and secrets inside every string (see `redactText`). Other values are kept as they are.
 */
export function redactSecrets<T>(value: T, knownSecrets: readonly string[] = []): T {
  return copy(value, "", knownSecrets, new WeakSet()) as T;
}

function copy(value: unknown, key: string, knownSecrets: readonly string[], ancestors: WeakSet<object>): unknown {
  if (holdsSecret(key, value)) return REDACTED;
  if (typeof value === "string") return redactText(value, knownSecrets);
  if (typeof value !== "object" || value === null) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return value;
  if (ancestors.has(value)) return "[Circular]";
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => copy(item, "", knownSecrets, ancestors));
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(value))
      out[childKey] = copy(child, childKey, knownSecrets, ancestors);
    return out;
  } finally {
    ancestors.delete(value);
  }
}
