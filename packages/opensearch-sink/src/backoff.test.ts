import { describe, expect, it } from "@jest/globals";
import { exponentialDelay, fullJitterDelay } from "./backoff.js";

describe("exponentialDelay()", () => {
  it("doubles from the minimum per attempt and stops at the maximum", () => {
    expect([0, 1, 2, 3, 7, 8, 1_000].map((n) => exponentialDelay(n, 1_000, 60_000))).toEqual([
      1_000, 1_000, 2_000, 4_000, 60_000, 60_000, 60_000,
    ]);
  });
});

describe("fullJitterDelay()", () => {
  it("doubles the ceiling per attempt up to the maximum", () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 10, 100].map((n) => fullJitterDelay(n, 100, 1000, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelay(5, 100, 1000, () => 0)).toBe(0);
  });

  it("draws uniformly below the ceiling", () => {
    expect(fullJitterDelay(3, 100, 1000, () => 0.5)).toBe(200);
  });
});
