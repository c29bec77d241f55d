import type { ConsumerMetrics } from "../metrics.js";

/**
 * Indexed and duplicate outcomes counted by index and HTTP status, added to `metrics.stored` by `flush` (once a
 * second, with the commit): a labelled `inc()` per document costs a label object and a label hash on every document.
 */
export interface StoredCounts {
  add(index: string, httpStatus: number): void;
  flush(): void;
}

export function createStoredCounts(metrics: Pick<ConsumerMetrics, "stored">): StoredCounts {
  const counts = new Map<string, Map<number, number>>();
  return {
    add(index, httpStatus) {
      let byStatus = counts.get(index);
      if (byStatus === undefined) {
        byStatus = new Map();
        counts.set(index, byStatus);
      }
      byStatus.set(httpStatus, (byStatus.get(httpStatus) ?? 0) + 1);
    },
    flush() {
      for (const [index, byStatus] of counts) {
        for (const [httpStatus, count] of byStatus) {
          // 409 is only counted here as a duplicate (a refused `index` is rejected, counted at once).
          const result = httpStatus === 409 ? "duplicate" : "indexed";
          metrics.stored.inc({ index, status: String(httpStatus), result, error: "" }, count);
        }
      }
      counts.clear();
    },
  };
}
