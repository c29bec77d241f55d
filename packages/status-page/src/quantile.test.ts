import { describe, expect, it } from "@jest/globals";
import type { MetricSample } from "./exposition.js";
import { bucketDelta, bucketQuantile, createWindowedHistogram, histogramBuckets } from "./quantile.js";

const inf = Number.POSITIVE_INFINITY;

describe("bucketQuantile", () => {
  it("interpolates inside the bucket the rank falls in", () => {
    const buckets = [
      { le: 0.1, count: 50 },
      { le: 1, count: 100 },
      { le: inf, count: 100 },
    ];
    expect(bucketQuantile(buckets, 0.5)).toBeCloseTo(0.1);
    expect(bucketQuantile(buckets, 0.25)).toBeCloseTo(0.05);
    expect(bucketQuantile(buckets, 0.75)).toBeCloseTo(0.55);
  });

  it("answers the highest finite bound for a rank in +Inf, and undefined without observations or a bad q", () => {
    expect(
      bucketQuantile(
        [
          { le: 1, count: 1 },
          { le: inf, count: 10 },
        ],
        0.99,
      ),
    ).toBe(1);
    expect(
      bucketQuantile(
        [
          { le: 1, count: 0 },
          { le: inf, count: 0 },
        ],
        0.5,
      ),
    ).toBeUndefined();
    expect(bucketQuantile([], 0.5)).toBeUndefined();
    expect(bucketQuantile([{ le: 1, count: 1 }], 1.5)).toBeUndefined();
    expect(bucketQuantile([{ le: 1, count: 1 }], Number.NaN)).toBeUndefined();
  });
});

describe("bucketDelta and histogramBuckets", () => {
  it("subtracts the earlier snapshot, taking a bucket that went down whole", () => {
    expect(
      bucketDelta(
        [
          { le: 1, count: 5 },
          { le: inf, count: 3 },
        ],
        [
          { le: 1, count: 2 },
          { le: inf, count: 9 },
        ],
      ),
    ).toEqual([
      { le: 1, count: 3 },
      { le: inf, count: 3 },
    ]);
  });

  it("sums the buckets of every label set by bound", () => {
    const samples: MetricSample[] = [
      { name: "h_bucket", labels: { le: "1", ok: "true" }, value: 2 },
      { name: "h_bucket", labels: { le: "1", ok: "false" }, value: 1 },
      { name: "h_bucket", labels: { le: "+Inf", ok: "true" }, value: 4 },
      { name: "h_bucket", labels: { le: "junk" }, value: 4 },
      { name: "h_count", labels: {}, value: 4 },
    ];
    expect(histogramBuckets(samples, "h")).toEqual([
      { le: 1, count: 3 },
      { le: inf, count: 4 },
    ]);
  });
});

describe("createWindowedHistogram", () => {
  it("answers from the observations of the window only", () => {
    const window = createWindowedHistogram(10_000);
    window.record(
      [
        { le: 1, count: 100 },
        { le: 10, count: 100 },
      ],
      0,
    );
    // Within the window the base is the first snapshot: the 100 old fast requests do not count.
    window.record(
      [
        { le: 1, count: 100 },
        { le: 10, count: 110 },
      ],
      5_000,
    );
    expect(window.quantile(0.5)).toBeGreaterThan(1);
    window.record(
      [
        { le: 1, count: 120 },
        { le: 10, count: 130 },
      ],
      16_000,
    );
    // The base is now the 5 s snapshot (the newest at or before the window's start).
    expect(window.window()).toEqual([
      { le: 1, count: 20 },
      { le: 10, count: 20 },
    ]);
    expect(window.quantile(0.5)).toBeLessThanOrEqual(1);
  });
});
