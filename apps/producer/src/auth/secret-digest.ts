import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * App secrets are never kept or compared as themselves: each is reduced to an HMAC-SHA256 under a key drawn at
 * startup. Tables are keyed by that digest, so a lookup's timing depends on digests an attacker cannot predict (the
 * key never leaves the process), never on how much of a guess matches a real secret; the entry found is then
 * confirmed with timingSafeEqual, which needs the fixed length the digest gives.
 */
export interface SecretDigester {
  digest(secret: string): Buffer;
  /** The table key of a digest. */
  key(digest: Buffer): string;
  same(a: Buffer, b: Buffer): boolean;
}

export function createSecretDigester(key: Buffer = randomBytes(32)): SecretDigester {
  return {
    digest: (secret) => createHmac("sha256", key).update(secret, "utf8").digest(),
    key: (digest) => digest.toString("base64"),
    same: (a, b) => a.length === b.length && timingSafeEqual(a, b),
  };
}
