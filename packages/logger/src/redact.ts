export const REDACTED = "[REDACTED]";

// Keys are compared without case, `_` or `-`, so `app_secret`, `appSecret` and `APP-SECRET` are the same key.
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
// Paths to key files are not secrets and are useful when TLS setup fails.
const safeSuffixes = ["path", "file"];

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_\s.]/g, "");
}

/** Whether a field name looks like it holds a secret (password, app secret, token, client key, ...). */
export function isSecretKey(key: string): boolean {
  const normalised = normaliseKey(key);
  if (safeSuffixes.some((suffix) => normalised.endsWith(suffix))) return false;
  if (normalised === "auth" || normalised === "pass" || normalised === "pwd") return true;
  return (
    secretFragments.some((fragment) => normalised.includes(fragment)) ||
    secretSuffixes.some((suffix) => normalised.endsWith(suffix))
  );
}

// scheme://user:password@host -> the password part; also scheme://:password@host (Redis style).
const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):([^\s/@]*)@/gi;

/** Replaces the password inside URLs such as `redis://user:pass@host:6379`, leaving the rest readable. */
export function redactUrlCredentials(text: string): string {
  if (!text.includes("@")) return text;
  return text.replace(urlCredentials, `$1:${REDACTED}@`);
}
