import type { SinkError } from "./errors.js";
import type { Logger } from "@barito-flow/logger";
import type { FlushStats, SinkHealth, SinkStats } from "./types.js";

const LATENCY_RING_SIZE = 256;

/** The gauges only the sink's core knows: what it holds right now. */
export type SinkGauges = Pick<SinkStats, "inFlightRequests" | "buffered" | "awaitingRetry" | "pending">;

export interface SinkStatsOptions {
  degradedAfterFailures: number;
  onFlush?: ((stats: FlushStats) => void) | undefined;
  logger?: Logger | undefined;
}

/** The figures of one request before its outcomes are counted in. */
export function flushStats(docs: number, bytes: number, durationMs: number, ok: boolean): FlushStats {
  return { docs, bytes, durationMs, ok, indexed: 0, duplicates: 0, rejected: 0, retried: 0 };
}

/**
 * The sink's counters, its recent request durations and its health: `degraded` after `degradedAfterFailures`
 * whole-request failures in a row, `ok` again on the next success.
 */
export function createSinkStats({ degradedAfterFailures, onFlush, logger }: SinkStatsOptions) {
  const counters = {
    indexed: 0,
    duplicates: 0,
    rejected: 0,
    retriedItems: 0,
    retriedRequests: 0,
    bulkRequests: 0,
    failedRequests: 0,
  };
  const latencies: number[] = [];
  let consecutiveFailures = 0;
  let lastErrorCode: string | undefined;

  return {
    /** Incremented by the sink as it goes. */
    counters,

    requestFailed(error: SinkError): void {
      counters.failedRequests += 1;
      consecutiveFailures += 1;
      lastErrorCode = error.code;
    },

    requestSucceeded(): void {
      consecutiveFailures = 0;
    },

    /** Counts one request's outcomes, records its duration and hands its figures to `onFlush`. */
    report(stats: FlushStats): void {
      counters.indexed += stats.indexed;
      counters.duplicates += stats.duplicates;
      counters.rejected += stats.rejected;
      counters.retriedItems += stats.retried;
      latencies.push(stats.durationMs);
      if (latencies.length > LATENCY_RING_SIZE) latencies.shift();
      if (!onFlush) return;
      try {
        onFlush(stats);
      } catch (err) {
        logger?.error("bulk sink onFlush hook threw", { err });
      }
    },

    snapshot(gauges: SinkGauges): SinkStats {
      return { ...counters, bulkLatenciesMs: [...latencies], ...gauges };
    },

    health(): SinkHealth {
      return {
        state: consecutiveFailures >= degradedAfterFailures ? "degraded" : "ok",
        consecutiveFailures,
        ...(lastErrorCode === undefined ? {} : { lastErrorCode }),
      };
    },
  };
}
