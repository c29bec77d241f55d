/** What the status page shows of one rate-limit key: its window's capacity and use as of its last request. */
export interface LimitUse {
  /** The rate-limit key: the topic, or `app_group:<prefix>` for apps with `disableAppTps`. Never a secret. */
  key: string;
  /** Logs one window admits (max_tps × BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL). */
  limit: number;
  /** Logs charged in the window at the last request (capacity minus what was left); undefined if not told. */
  used: number | undefined;
  /** `local` or `redis` (@barito-flow/rate-limit tells which store decided); undefined if not told. */
  backend: string | undefined;
  /** Unix ms of the last request. */
  at: number;
  lastAllowed: boolean;
}

/** The decision of the produce path's port, with what @barito-flow/rate-limit's limiters add. */
interface Decision {
  allowed: boolean;
  limit: number;
  remaining?: number;
  backend?: string;
}

interface Limiter {
  take(key: string, cost: number, tpsLimit: number): Promise<Decision>;
}

export interface ObservedLimiter<L extends Limiter> {
  /** The same limiter, recording each decision. */
  limiter: L;
  /** The keys seen, most recently used first. */
  uses(): LimitUse[];
}

/**
 * Wraps a rate limiter so the status page can show each key's limit and window use without asking the store (Redis
 * would need a round trip per key and a second script). It records the answer the limiter already gave, so a key
 * shows its use as of its last request: a window that has since ended shows stale use, which the page marks by age.
 * At most `maxKeys` keys are remembered (the least recently used are forgotten): memory stays bounded whatever the
 * number of apps.
 */
export function observeLimits<L extends Limiter>(
  limiter: L,
  options: { maxKeys?: number; clock?: () => number } = {},
): ObservedLimiter<L> {
  const maxKeys = options.maxKeys ?? 200;
  const clock = options.clock ?? Date.now;
  const seen = new Map<string, LimitUse>();
  const take = async (key: string, cost: number, tpsLimit: number) => {
    const decision = await limiter.take(key, cost, tpsLimit);
    seen.delete(key);
    seen.set(key, {
      key,
      limit: decision.limit,
      used: decision.remaining === undefined ? undefined : Math.max(0, decision.limit - decision.remaining),
      backend: decision.backend,
      at: clock(),
      lastAllowed: decision.allowed,
    });
    if (seen.size > maxKeys) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    return decision;
  };
  // The limiter as prototype: its other members (close, Redis' `backend` getter) stay as they are.
  const wrapped = Object.create(limiter) as L;
  Object.defineProperty(wrapped, "take", { value: take });
  return { limiter: wrapped, uses: () => [...seen.values()].reverse() };
}
