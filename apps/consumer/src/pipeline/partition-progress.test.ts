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

  it("refuses offsets that are not safe integers, saying which", () => {
    const progress = new PartitionProgress();
    expect(() => progress.track("9007199254740993", 1)).toThrow(
      new RangeError("offset 9007199254740993 is not a safe integer"),
    );
    expect(() => progress.track("-1", 1)).toThrow(new RangeError("offset -1 is not a safe integer"));
    expect(() => progress.track(1.5, 1)).toThrow(RangeError);
    expect(() => progress.track("abc", 1)).toThrow(RangeError);
  });

  it("starts unpaused, unrevoked, with nothing committable, for its topic and partition", () => {
    const progress = new PartitionProgress("t_logs", 3);
    expect(progress).toMatchObject({ topic: "t_logs", partition: 3, revoked: false, paused: false, inFlight: 0 });
    expect(progress.drainWaiter).toBeUndefined();
    expect(progress.committable).toBeUndefined();
    expect(new PartitionProgress()).toMatchObject({ topic: "", partition: 0 });
  });

  it("an empty record behind an unfinished one commits nothing yet; offset 0 finished commits 1", () => {
    const progress = new PartitionProgress();
    const first = progress.track(0, 1);
    progress.track(1, 0);
    expect(progress.committable).toBeUndefined();
    expect(progress.committableOffset).toBe(-1);
    expect(progress.finish(first)).toBe(true);
    expect(progress.committable).toBe("2");
  });

  it("ignores a position it never handed out, and goes on tracking correctly afterwards", () => {
    const progress = new PartitionProgress();
    const a = progress.track(7, 1);
    expect(progress.finish(a + 1)).toBe(false);
    expect(progress.finish(-1)).toBe(false);
    const b = progress.track(8, 1);
    expect(b).toBe(a + 1);
    expect(progress.finish(b)).toBe(false);
    expect(progress.committable).toBeUndefined();
    expect(progress.finish(a)).toBe(true);
    expect(progress.committable).toBe("9");
  });

  it("a position taken before a compaction still finishes its own record after it", () => {
    const progress = new PartitionProgress();
    const early: number[] = [];
    for (let offset = 0; offset < 5_000; offset++) early.push(progress.track(offset, 1));
    const held = progress.track(5_000, 1);
    const after = progress.track(5_001, 1);
    // Finishing the first 5000 compacts the queue (more than 4096 finished, over half of it).
    for (const position of early) progress.finish(position);
    expect(progress.committable).toBe("5000");
    expect(progress.finish(after)).toBe(false);
    expect(progress.committable).toBe("5000");
    // A finished position from before the compaction is gone: it moves nothing.
    expect(progress.finish(early[10] as number)).toBe(false);
    expect(progress.committable).toBe("5000");
    expect(progress.finish(held)).toBe(true);
    expect(progress.committable).toBe("5002");
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
