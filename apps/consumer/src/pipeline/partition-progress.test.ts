import { describe, expect, it } from "@jest/globals";
import { PartitionProgress } from "./partition-progress.js";

describe("PartitionProgress", () => {
  it("commits only up to the first unfinished record, whatever order documents finish in", () => {
    const progress = new PartitionProgress();
    progress.track("10", 2); // a collection of two documents
    progress.track("11", 1);
    progress.track("12", 1);
    expect(progress.inFlight).toBe(4);
    expect(progress.finish("11")).toBe(false);
    expect(progress.committable).toBeUndefined();
    expect(progress.finish("10")).toBe(false);
    expect(progress.finish("10")).toBe(true);
    expect(progress.committable).toBe("12");
    expect(progress.finish("12")).toBe(true);
    expect(progress.committable).toBe("13");
    expect(progress.inFlight).toBe(0);
  });

  it("treats a record without documents as finished at once", () => {
    const progress = new PartitionProgress();
    progress.track("5", 0);
    expect(progress.committable).toBe("6");
  });

  it("keeps working across many records (queue compaction)", () => {
    const progress = new PartitionProgress();
    for (let offset = 0; offset < 10_000; offset++) progress.track(String(offset), 1);
    for (let offset = 9_999; offset >= 0; offset--) progress.finish(String(offset));
    expect(progress.committable).toBe("10000");
    for (let offset = 10_000; offset < 20_000; offset++) {
      progress.track(String(offset), 1);
      progress.finish(String(offset));
    }
    expect(progress.committable).toBe("20000");
  });
});
