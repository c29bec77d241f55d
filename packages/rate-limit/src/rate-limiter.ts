import { RateLimitError } from "./errors.js";

export type RateLimitBackend = "local" | "redis";

/** The answer to one `take`. */
export interface RateDecision {
  /** Whether the whole cost was admitted. A request is admitted whole or rejected whole. */
  allowed: boolean;
  /** Units left in the current window after this decision (never negative). */
  remaining: number;
  /** Milliseconds until the window resets and has room again; 0 when allowed. */
  retryAfterMs: number;
  /** Which store made the decision: `local` also when a Redis limiter is running on its fallback. */
  backend: RateLimitBackend;
  /** The window's capacity for this call: `tpsLimit × interval seconds`, rounded down. */
  limit: number;
}

/**
 * Per-key fixed-window limiter. Each key gets a window of `intervalMs`; within it at most
 * `tpsLimit × intervalMs / 1000` units are admitted. Rejected requests are not charged. The limit is passed on
 * every call (it comes from the request in barito), so a changed limit applies immediately to the running window.
 */
export interface RateLimiter {
  take(key: string, cost: number, tpsLimit: number): Promise<RateDecision>;
  close(): Promise<void>;
}

/** Window capacity; a non-positive or non-numeric limit gives 0, so every request with a cost is rejected (as in Go). */
export function windowCapacity(tpsLimit: number, intervalMs: number): number {
  if (!Number.isFinite(tpsLimit) || tpsLimit <= 0) return 0;
  return Math.floor((tpsLimit * intervalMs) / 1000);
}

export function assertValidCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) {
    throw new RateLimitError("INVALID_ARGUMENT", "cost", `cost must be a non-negative integer, got ${String(cost)}`);
  }
}

export function assertValidKey(key: string): void {
  if (typeof key !== "string") {
    throw new RateLimitError("INVALID_ARGUMENT", "key", `key must be a string, got ${typeof key}`);
  }
}

export function assertValidInterval(intervalMs: number): void {
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new RateLimitError(
      "INVALID_OPTIONS",
      "intervalMs",
      `intervalMs must be a positive integer number of milliseconds, got ${String(intervalMs)}`,
    );
  }
}
