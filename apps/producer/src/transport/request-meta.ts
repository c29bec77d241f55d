import { callerIdentity } from "@barito-flow/tls";
import { ProduceError } from "../produce/produce-error.js";
import type { RequestMeta } from "../produce/producer-service.js";

const maxIdempotencyKeyLength = 256;

/** Refuses an over-long key rather than cutting it: two keys with a common prefix would collapse into one log. */
export function requestMeta(headers: Headers): RequestMeta {
  return requestMetaFromKey(headers.get("idempotency-key") ?? undefined);
}

/**
 * The same from the header's raw value (Node joins repeated headers with ", ", as `Headers.get` does), with the
 * caller's identity when `socket` is a TLS connection with a verified client certificate (mTLS).
 */
export function requestMetaFromKey(header: string | string[] | undefined, socket?: unknown): RequestMeta {
  const key = (Array.isArray(header) ? header.join(", ") : header)?.trim();
  const caller = callerIdentity(socket);
  if (!key) return caller === undefined ? {} : { caller };
  if (key.length > maxIdempotencyKeyLength) {
    throw ProduceError.invalid([
      { field: "Idempotency-Key", reason: `at most ${maxIdempotencyKeyLength} characters, got ${key.length}` },
    ]);
  }
  return caller === undefined ? { idempotencyKey: key } : { idempotencyKey: key, caller };
}
