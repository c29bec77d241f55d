import { describe, expect, it } from "@jest/globals";
import { createRateTracker } from "./rates.js";

describe("createRateTracker", () => {
  it("gives per-second rates between observations, nothing on the first", () => {
    const rates = createRateTracker();
    expect(rates.update(new Map([["a", 10]]), 1_000).size).toBe(0);
    expect([
      ...rates.update(
        new Map([
          ["a", 30],
          ["b", 4],
        ]),
        3_000,
      ),
    ]).toEqual([
      ["a", 10],
      ["b", 2],
    ]);
  });

  it("treats a counter that went down as restarted, never negative", () => {
    const rates = createRateTracker();
    rates.update(new Map([["a", 100]]), 0);
    expect(rates.update(new Map([["a", 5]]), 1_000).get("a")).toBe(5);
  });

  it("gives nothing when no time passed or the clock went back, and skips non-finite values", () => {
    const rates = createRateTracker();
    rates.update(new Map([["a", 1]]), 1_000);
    expect(rates.update(new Map([["a", 2]]), 1_000).size).toBe(0);
    expect(rates.update(new Map([["a", 3]]), 500).size).toBe(0);
    expect(rates.update(new Map([["a", Number.NaN]]), 1_500).size).toBe(0);
  });
});
