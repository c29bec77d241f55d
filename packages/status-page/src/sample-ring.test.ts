import { describe, expect, it } from "@jest/globals";
import { createSampleRing } from "./sample-ring.js";

const at = (t: number) => ({ t, v: { x: t } });

describe("createSampleRing", () => {
  it("keeps the newest `capacity` samples, oldest first", () => {
    const ring = createSampleRing(3);
    expect(ring.since()).toEqual([]);
    expect(ring.latest()).toBeUndefined();
    for (const t of [1, 2, 3, 4, 5]) ring.push(at(t));
    expect(ring.size).toBe(3);
    expect(ring.since().map((s) => s.t)).toEqual([3, 4, 5]);
    expect(ring.since(3).map((s) => s.t)).toEqual([4, 5]);
    expect(ring.latest()?.t).toBe(5);
  });

  it("finds the newest sample at least an age older than the latest", () => {
    const ring = createSampleRing(10);
    for (const t of [0, 1_000, 2_000, 3_000]) ring.push(at(t));
    expect(ring.before(1_500)?.t).toBe(1_000);
    expect(ring.before(60_000)?.t).toBe(0);
  });

  it("refuses a capacity that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => createSampleRing(bad)).toThrow(RangeError);
  });
});
