import { describe, expect, it } from "@jest/globals";
import { createSinkStats, flushStats } from "./sink-stats.js";
import { recordingLogger, requestError } from "./testing/fake-bulk-client.js";
import type { FlushStats } from "./types.js";

const gauges = { inFlightRequests: 1, buffered: 2, awaitingRetry: 3, pending: 4 };

describe("createSinkStats()", () => {
  it("counts each request's outcomes and hands its figures to onFlush", () => {
    const seen: FlushStats[] = [];
    const stats = createSinkStats({ degradedAfterFailures: 3, onFlush: (s) => seen.push(s) });
    const flushed = { ...flushStats(5, 500, 12, true), indexed: 2, duplicates: 1, rejected: 1, retried: 1 };
    stats.report(flushed);
    stats.counters.bulkRequests += 1;
    expect(seen).toEqual([flushed]);
    expect(stats.snapshot(gauges)).toEqual({
      indexed: 2,
      duplicates: 1,
      rejected: 1,
      retriedItems: 1,
      retriedRequests: 0,
      bulkRequests: 1,
      failedRequests: 0,
      bulkLatenciesMs: [12],
      ...gauges,
    });
  });

  it("keeps the last 256 request durations, oldest first", () => {
    const stats = createSinkStats({ degradedAfterFailures: 3 });
    for (let ms = 0; ms < 300; ms++) stats.report(flushStats(1, 1, ms, true));
    const latencies = stats.snapshot(gauges).bulkLatenciesMs;
    expect(latencies).toHaveLength(256);
    expect(latencies[0]).toBe(44);
    expect(latencies.at(-1)).toBe(299);
  });

  it("turns degraded after degradedAfterFailures failures in a row and ok on the next success", () => {
    const stats = createSinkStats({ degradedAfterFailures: 2 });
    expect(stats.health()).toEqual({ state: "ok", consecutiveFailures: 0 });
    stats.requestFailed(requestError());
    expect(stats.health()).toEqual({ state: "ok", consecutiveFailures: 1, lastErrorCode: "CONNECTION_FAILED" });
    stats.requestFailed(requestError(503));
    expect(stats.health()).toEqual({ state: "degraded", consecutiveFailures: 2, lastErrorCode: "SERVER_ERROR" });
    expect(stats.snapshot(gauges).failedRequests).toBe(2);
    stats.requestSucceeded();
    expect(stats.health()).toEqual({ state: "ok", consecutiveFailures: 0, lastErrorCode: "SERVER_ERROR" });
  });

  it("logs an onFlush hook that throws instead of failing the request", () => {
    const { lines, logger } = recordingLogger();
    const stats = createSinkStats({
      degradedAfterFailures: 3,
      logger,
      onFlush: () => {
        throw new Error("hook");
      },
    });
    expect(() => stats.report(flushStats(1, 1, 1, true))).not.toThrow();
    expect(lines.map((l) => l.message)).toEqual(["bulk sink onFlush hook threw"]);
  });
});
