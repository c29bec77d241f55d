import { RateLimitError } from "./errors.js";
import {
  assertValidCost,
  assertValidInterval,
  assertValidKey,
  type RateDecision,
  type RateLimiter,
  windowCapacity,
} from "./rate-limiter.js";

export interface LocalRateLimiterOptions {
  /** Window length in milliseconds (barito: BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL × 1000). */
  intervalMs: number;
  /** Milliseconds since an arbitrary origin; inject a fake in tests. Default `Date.now`. */
  clock?: () => number;
  /**
   * Hard cap on tracked keys. Keys whose window has ended are dropped anyway; this only matters when more distinct
   * keys than this are active within one window, in which case the oldest windows are forgotten (those keys may
   * then be admitted again early: memory is bounded at the price of accuracy). Default 100 000.
   */
  maxKeys?: number;
}

export interface LocalRateLimiter extends RateLimiter {
  /** Number of keys currently tracked (for tests and a memory gauge). */
  readonly trackedKeys: number;
  /** Synchronous variant of `take`, used by the Redis limiter's fallback path. */
  takeNow(key: string, cost: number, tpsLimit: number): RateDecision;
}

interface Window {
  startedAt: number;
  used: number;
}

/**
 * In-memory fixed-window limiter, one window per key, started by the key's first request. Limits are per process
 * (per producer replica). `take` runs synchronously inside, so concurrent calls can never over-admit.
 */
export function createLocalRateLimiter(options: LocalRateLimiterOptions): LocalRateLimiter {
  assertValidInterval(options.intervalMs);
  const intervalMs = options.intervalMs;
  const clock = options.clock ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new RateLimitError(
      "INVALID_OPTIONS",
      "maxKeys",
      `maxKeys must be a positive integer, got ${String(maxKeys)}`,
    );
  }

  // Map iteration order is insertion order; windows are re-inserted when they restart, so the first entries are
  // always the oldest windows. That makes both the sweep and the cap cheap.
  const windows = new Map<string, Window>();
  let lastSweepAt = clock();
  let closed = false;

  const sweep = (now: number): void => {
    for (const [key, window] of windows) {
      if (now - window.startedAt < intervalMs) break;
      windows.delete(key);
    }
    lastSweepAt = now;
  };

  const takeNow = (key: string, cost: number, tpsLimit: number): RateDecision => {
    if (closed) throw new RateLimitError("CLOSED", "limiter", "the rate limiter is closed");
    assertValidKey(key);
    assertValidCost(cost);
    const now = clock();
    if (now - lastSweepAt >= intervalMs) sweep(now);

    const limit = windowCapacity(tpsLimit, intervalMs);
    let window = windows.get(key);
    // A clock that goes backwards (tests, NTP) must not freeze a window forever, hence the `< 0` check.
    if (window !== undefined && (now - window.startedAt >= intervalMs || now < window.startedAt)) {
      windows.delete(key);
      window = undefined;
    }
    const used = window?.used ?? 0;
    if (used + cost > limit) {
      const retryAfterMs = window === undefined ? intervalMs : window.startedAt + intervalMs - now;
      return { allowed: false, remaining: Math.max(0, limit - used), retryAfterMs, backend: "local", limit };
    }
    if (window === undefined) {
      if (cost === 0) return { allowed: true, remaining: limit, retryAfterMs: 0, backend: "local", limit };
      window = { startedAt: now, used: 0 };
      windows.set(key, window);
      if (windows.size > maxKeys) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
    }
    window.used += cost;
    return { allowed: true, remaining: limit - window.used, retryAfterMs: 0, backend: "local", limit };
  };

  return {
    takeNow,
    take: async (key, cost, tpsLimit) => takeNow(key, cost, tpsLimit),
    get trackedKeys() {
      return windows.size;
    },
    close: async () => {
      closed = true;
      windows.clear();
    },
  };
}
