import { redactText as redact } from "../secrets.js";

/** The JSON shape of an error in log entries. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: SerializedError | string;
  [extra: string]: unknown;
}

const maxCauseDepth = 3;

export function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as { message?: unknown }).message === "string" &&
      typeof (value as { stack?: unknown }).stack === "string")
  );
}

/**
 * Turns an error into plain data. `JSON.stringify(new Error("x"))` gives `{}`, which is why errors are never left to
 * the serialiser. Causes are followed a few levels deep; own enumerable fields (`retriable`, `status`) are kept, but
 * passed through `sanitize` so secrets in them are redacted too.
 */
export function serializeError(
  error: Error,
  sanitize: (value: unknown, key: string) => unknown,
  depth = 0,
): SerializedError {
  const result: SerializedError = {
    name: typeof error.name === "string" ? error.name : "Error",
    message: redact(typeof error.message === "string" ? error.message : String(error.message)),
  };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") result.code = code;
  if (typeof error.stack === "string") result.stack = redact(error.stack);
  for (const key of Object.keys(error)) {
    if (key in result || key === "cause") continue;
    result[key] = sanitize((error as unknown as Record<string, unknown>)[key], key);
  }
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && depth < maxCauseDepth) {
    result.cause = isErrorLike(cause) ? serializeError(cause, sanitize, depth + 1) : String(sanitize(cause, "cause"));
  }
  return result;
}
