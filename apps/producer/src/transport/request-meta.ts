import { ProduceError } from "../produce/produce-error.js";
import type { RequestMeta } from "../produce/producer-service.js";

const maxIdempotencyKeyLength = 256;

/** Refuses an over-long key rather than cutting it: two keys with a common prefix would collapse into one log. */
export function requestMeta(headers: Headers): RequestMeta {
  return requestMetaFromKey(headers.get("idempotency-key") ?? undefined);
}

/** The same from the header's raw value (Node joins repeated headers with ", ", as `Headers.get` does). */
export function requestMetaFromKey(header: string | string[] | undefined): RequestMeta {
  const key = (Array.isArray(header) ? header.join(", ") : header)?.trim();
  if (!key) return {};
  if (key.length > maxIdempotencyKeyLength) {
    throw ProduceError.invalid([
      { field: "Idempotency-Key", reason: `at most ${maxIdempotencyKeyLength} characters, got ${key.length}` },
    ]);
  }
  return { idempotencyKey: key };
}
