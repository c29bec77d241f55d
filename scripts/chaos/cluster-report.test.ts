// The cluster run's per-fault client figures: what a failed-request window and an acknowledgement stall are.
import { describe, expect, it } from "@jest/globals";
import { failedWindows, longestAckStall } from "./cluster-report.ts";
import type { AttemptLog } from "./traffic.ts";

/** Attempts as [sentAt, endedAt, ok]. */
const log = (...attempts: [number, number, boolean][]): AttemptLog => ({
  sentAt: attempts.map((a) => a[0]),
  endedAt: attempts.map((a) => a[1]),
  ok: attempts.map((a) => a[2]),
});

describe("failedWindows", () => {
  it("opens at a failed attempt's send and closes at the first success sent after it", () => {
    const attempts = log([0, 10, true], [100, 200, false], [150, 300, false], [250, 400, true], [260, 380, true]);
    // 380 is the earliest end of a success sent at or after 100 (sent 260); 400 for the one sent at 250 is later.
    expect(failedWindows(attempts, 0, 1_000)).toEqual([[100, 380]]);
  });

  it("does not close a window with a success sent before the failure, however late it ends", () => {
    const attempts = log([0, 5_000, true], [100, 200, false], [3_000, 3_100, true]);
    expect(failedWindows(attempts, 0, 10_000)).toEqual([[100, 3_100]]);
  });

  it("keeps separate windows apart and a window with no success yet ends at the fault's end", () => {
    const attempts = log([0, 50, false], [60, 70, true], [500, 600, false]);
    expect(failedWindows(attempts, 0, 900)).toEqual([
      [0, 70],
      [500, 900],
    ]);
  });

  it("counts only failures sent within the bounds", () => {
    expect(failedWindows(log([0, 50, false], [60, 70, true]), 55, 900)).toEqual([]);
  });
});

describe("longestAckStall", () => {
  it("is the longest a request waited until any request succeeded, failures or not", () => {
    // A slow success (a leader election): sent at 100, nothing succeeds until 4_100.
    const attempts = log([0, 50, true], [100, 4_100, true], [200, 300, false]);
    expect(longestAckStall(attempts, 0, 10_000)).toBe(4_000);
  });

  it("is 0 when every request is answered at once", () => {
    expect(longestAckStall(log([0, 0, true], [10, 10, true]), 0, 100)).toBe(0);
  });
});
