import type { SinkError } from "./errors.js";
import type { Logger } from "@barito-flow/logger";
import type { Clock } from "./types.js";

/**
 * What the sink logs while whole requests fail: one warning when they start failing, a summary at most every
 * `summaryEveryMs` while they keep failing, one line when they succeed again. An outage of minutes must not print a
 * warning per batch per attempt; the sink's counters still count every failure.
 */
export interface OutageLog {
  /** A whole request failed and will be retried after `delayMs`; `documentsWaiting` are all unsettled documents. */
  requestFailed(error: SinkError, batchSize: number, delayMs: number, documentsWaiting: number): void;
  requestSucceeded(): void;
}

export function createOutageLog(clock: Clock, logger: Logger | undefined, summaryEveryMs = 10_000): OutageLog {
  let outage: { since: number; lastSummary: number; retries: number; retriesSinceSummary: number } | undefined;

  return {
    requestFailed(error, batchSize, delayMs, documentsWaiting) {
      const now = clock.now();
      if (outage === undefined) {
        outage = { since: now, lastSummary: now, retries: 1, retriesSinceSummary: 0 };
        logger?.warn("bulk requests failing; documents are kept and retried until OpenSearch accepts them", {
          err: error.message,
          code: error.code,
          status: error.status,
          batchSize,
          delayMs,
        });
        return;
      }
      outage.retries += 1;
      outage.retriesSinceSummary += 1;
      if (now - outage.lastSummary < summaryEveryMs) return;
      const seconds = Math.round((now - outage.since) / 1000);
      logger?.warn(
        `OpenSearch unreachable for ${seconds} s, ${documentsWaiting} documents waiting, ${outage.retries} retries`,
        {
          forMs: now - outage.since,
          retries: outage.retriesSinceSummary,
          documentsWaiting,
          err: error.message,
          code: error.code,
        },
      );
      outage.lastSummary = now;
      outage.retriesSinceSummary = 0;
    },

    requestSucceeded() {
      if (outage === undefined) return;
      const outageMs = clock.now() - outage.since;
      logger?.info(`bulk requests succeed again after ${Math.round(outageMs / 1000)} s`, {
        outageMs,
        retries: outage.retries,
      });
      outage = undefined;
    },
  };
}
