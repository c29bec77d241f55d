/**
 * Per-second rates of counters between two successive observations. Only the keys of the last observation are
 * kept, so memory follows the counters themselves. A counter that went down (a restarted worker in a cluster, a
 * reset registry) restarted from zero: its rate is its new value over the interval, never negative.
 */
export interface RateTracker {
  /** Rates per second since the previous `update` (empty on the first one, or when no time passed). */
  update(counters: ReadonlyMap<string, number>, nowMs: number): Map<string, number>;
}

export function createRateTracker(): RateTracker {
  let previous: { at: number; counters: ReadonlyMap<string, number> } | undefined;
  return {
    update(counters, nowMs) {
      const rates = new Map<string, number>();
      const last = previous;
      previous = { at: nowMs, counters: new Map(counters) };
      if (!last) return rates;
      const seconds = (nowMs - last.at) / 1000;
      if (!(seconds > 0)) return rates;
      for (const [key, value] of counters) {
        if (!Number.isFinite(value)) continue;
        const before = last.counters.get(key) ?? 0;
        const delta = value >= before ? value - before : value;
        rates.set(key, delta / seconds);
      }
      return rates;
    },
  };
}
