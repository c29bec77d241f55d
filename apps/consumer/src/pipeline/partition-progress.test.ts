import { describe, expect, it } from "@jest/globals";
import { PartitionProgress } from "./partition-progress.js";

describe("PartitionProgress", () => {
  it("commits only up to the first unfinished record, whatever order documents finish in", () => {
    const progress = new PartitionProgress();
    const r10 = progress.track("10", 2); // a collection of two documents
    const r11 = progress.track(11, 1);
    const r12 = progress.track("12", 1);
    expect(progress.inFlight).toBe(4);
    expect(progress.finish(r11)).toBe(false);
    expect(progress.committable).toBeUndefined();
    expect(progress.finish(r10)).toBe(false);
    expect(progress.finish(r10)).toBe(true);
    expect(progress.committable).toBe("12");
    expect(progress.finish(r12)).toBe(true);
    expect(progress.committable).toBe("13");
    expect(progress.inFlight).toBe(0);
  });

  it("treats a record without documents as finished at once, and follows offset gaps", () => {
    const progress = new PartitionProgress();
    progress.track("5", 0);
    expect(progress.committable).toBe("6");
    const r9 = progress.track("9", 1);
    progress.track("12", 0);
    expect(progress.committable).toBe("6");
    progress.finish(r9);
    expect(progress.committable).toBe("13");
  });

  it("refuses offsets that are not safe integers", () => {
    const progress = new PartitionProgress();
    expect(() => progress.track("9007199254740993", 1)).toThrow(RangeError);
    expect(() => progress.track("-1", 1)).toThrow(RangeError);
  });

  it("keeps working across many records (queue compaction)", () => {
    const progress = new PartitionProgress();
    const positions: number[] = [];
    for (let offset = 0; offset < 10_000; offset++) positions.push(progress.track(String(offset), 1));
    for (let i = 9_999; i >= 0; i--) progress.finish(positions[i] as number);
    expect(progress.committable).toBe("10000");
    for (let offset = 10_000; offset < 20_000; offset++) progress.finish(progress.track(offset, 1));
    expect(progress.committable).toBe("20000");
    // Out of order across a compaction.
    const a = progress.track(20_000, 1);
    const b = progress.track(20_001, 1);
    progress.finish(b);
    expect(progress.committable).toBe("20000");
    progress.finish(a);
    expect(progress.committable).toBe("20002");
    expect(progress.inFlight).toBe(0);
  });
});
