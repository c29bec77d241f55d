import { describe, expect, it } from "@jest/globals";
import { OffsetTracker } from "./offset-tracker.js";

describe("OffsetTracker", () => {
  it("hands out each changed position once, keeps failed commits for retry, and forgets revoked partitions", () => {
    const tracker = new OffsetTracker();
    tracker.markDone("t", 0, 10);
    tracker.markDone("t", 0, 15);
    tracker.markDone("t", 1, 3);
    expect(tracker.takeDirty()).toEqual([
      { topic: "t", partition: 0, offset: "15" },
      { topic: "t", partition: 1, offset: "3" },
    ]);
    expect(tracker.takeDirty()).toEqual([]);
    tracker.restore([{ topic: "t", partition: 1 }]);
    expect(tracker.takeDirty((_, partition) => partition === 0)).toEqual([]);
    expect(tracker.takeDirty()).toEqual([{ topic: "t", partition: 1, offset: "3" }]);
    tracker.markDone("t", 1, 2);
    expect(tracker.takeDirty()).toEqual([]);
    tracker.markDone("t", 1, 4);
    tracker.forget([{ topic: "t", partition: 1 }]);
    expect(tracker.takeDirty()).toEqual([]);
    // Handed back later, the partition starts from what its new batches say, even below the forgotten position.
    tracker.markDone("t", 1, 2);
    expect(tracker.takeDirty()).toEqual([{ topic: "t", partition: 1, offset: "2" }]);
    // Topics are told apart as well as partitions.
    tracker.markDone("u", 1, 9);
    tracker.markDone("t", 1, 5);
    expect(tracker.takeDirty()).toEqual([
      { topic: "u", partition: 1, offset: "9" },
      { topic: "t", partition: 1, offset: "5" },
    ]);
  });
});
