/** One cumulative histogram bucket: observations ≤ `le`. */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside the bucket it falls in (as Prometheus'
 * `histogram_quantile`). Undefined when there are no observations or `q` is outside [0, 1]. A quantile in the
 * `+Inf` bucket is the highest finite bound: the histogram knows no more.
 */
export function bucketQuantile(buckets: readonly Bucket[], q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) return undefined;
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  const last = sorted.at(-1);
  if (!last || !(last.count > 0)) return undefined;
  const rank = q * last.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank && bucket.count > lowerCount) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
    }
    lowerBound = bucket.le === Number.POSITIVE_INFINITY ? lowerBound : bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** Bucket counts of `now` minus those of `before` (a bucket that went down restarted: its count is taken whole). */
export function bucketDelta(now: readonly Bucket[], before: readonly Bucket[] | undefined): Bucket[] {
  const earlier = new Map((before ?? []).map((b) => [b.le, b.count]));
  return now.map((b) => {
    const was = earlier.get(b.le) ?? 0;
    return { le: b.le, count: b.count >= was ? b.count - was : b.count };
  });
}

/**
 * The cumulative buckets of histogram `base` (its `<base>_bucket` series), summed over the label sets `where`
 * accepts, by bound.
 */
export function histogramBuckets(
  samples: ReadonlyArray<{ name: string; labels: Readonly<Record<string, string>>; value: number }>,
  base: string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): Bucket[] {
  const byBound = new Map<number, number>();
  const name = `${base}_bucket`;
  for (const sample of samples) {
    if (sample.name !== name || !where(sample.labels) || !Number.isFinite(sample.value)) continue;
    const le = sample.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    if (Number.isNaN(le)) continue;
    byBound.set(le, (byBound.get(le) ?? 0) + sample.value);
  }
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * Quantiles over the last `windowMs` of a cumulative histogram: it keeps the snapshots of that window (at most
 * `maxSnapshots`, dropping the oldest) and answers from the difference between the newest and the oldest.
 */
export interface WindowedHistogram {
  record(buckets: readonly Bucket[], nowMs: number): void;
  /** The buckets observed within the window. */
  window(): Bucket[];
  quantile(q: number): number | undefined;
}

export function createWindowedHistogram(windowMs: number, maxSnapshots = 128): WindowedHistogram {
  const snapshots: Array<{ at: number; buckets: readonly Bucket[] }> = [];
  const window = () => {
    const newest = snapshots.at(-1);
    if (!newest) return [];
    return bucketDelta(newest.buckets, snapshots.length > 1 ? snapshots[0]?.buckets : undefined);
  };
  return {
    record(buckets, nowMs) {
      snapshots.push({ at: nowMs, buckets });
      // Keep one snapshot at or before the window's start, as the base of the difference.
      while (snapshots.length > 2 && nowMs - (snapshots[1] as { at: number }).at >= windowMs) snapshots.shift();
      while (snapshots.length > maxSnapshots) snapshots.shift();
    },
    window,
    quantile: (q) => bucketQuantile(window(), q),
  };
}
