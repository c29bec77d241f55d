import type { PendingOperation } from "./bulk-operation.js";
import type { SinkError } from "./errors.js";
import type { Logger } from "@barito-flow/logger";
import type { BulkOperation, BulkResponseItem, FlushStats, ItemOutcome } from "./types.js";

// Which answers settle a document for good (indexed, duplicate, rejected) and which are worth trying again. The
// sink applies these; they hold no state.

const DUPLICATE: ItemOutcome = Object.freeze({ status: "duplicate", httpStatus: 409 });
/** "indexed" outcomes by HTTP status and result: a handful of frozen objects instead of one per document. */
const indexedOutcomes = new Map<number | string, ItemOutcome>();

function indexedOutcome(httpStatus: number, result: string | undefined): ItemOutcome {
  // Keyed by the status alone when there is no result (the usual answer): no string built per document.
  const key = result === undefined ? httpStatus : `${httpStatus}${result}`;
  let outcome = indexedOutcomes.get(key);
  if (outcome === undefined) {
    outcome = Object.freeze(
      result === undefined ? { status: "indexed", httpStatus } : { status: "indexed", httpStatus, result },
    );
    if (indexedOutcomes.size < 64) indexedOutcomes.set(key, outcome);
  }
  return outcome;
}

/** Per-item statuses worth retrying: the item may succeed later unchanged (overload, shard unavailable, timeout). */
export function isRetriableItemStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function rejectedItem(item: BulkResponseItem): ItemOutcome {
  const error = item.error;
  if (!error) {
    return {
      status: "rejected",
      httpStatus: item.status,
      errorType: "unknown",
      reason: `HTTP ${item.status} without an error body`,
    };
  }
  const causedBy = error.caused_by?.reason;
  const reason = [error.reason, causedBy ? `caused by: ${causedBy}` : undefined].filter(Boolean).join("; ");
  const errorType = typeof error.type === "string" ? error.type : "unknown";
  return { status: "rejected", httpStatus: item.status, errorType, reason };
}

/**
 * The final outcome of one bulk item, or undefined when the item should be sent again after a backoff:
 * 2xx is indexed, 409 on `create` a duplicate (an idempotent replay), 408/429/5xx retried, any other status rejected.
 */
export function itemOutcome(action: BulkOperation["action"], item: BulkResponseItem): ItemOutcome | undefined {
  const status = item.status;
  if (status >= 200 && status < 300) return indexedOutcome(status, item.result || undefined);
  if (status === 409 && action === "create") return DUPLICATE;
  if (isRetriableItemStatus(status)) return undefined;
  return rejectedItem(item);
}

/**
 * What happens to a batch whose whole request failed: the same batch is retried when the error may pass (network,
 * 429, 5xx, 401/403); a 413 is split in halves while there is more than one document; anything else rejects them all.
 */
export function requestFailureAction(error: SinkError, batchSize: number): "retry" | "split" | "reject" {
  if (error.retriable) return "retry";
  if (error.status === 413 && batchSize > 1) return "split";
  return "reject";
}

/** The outcome of each document of a batch whose request was refused for good. */
export function requestRejectedOutcome(error: SinkError): ItemOutcome {
  return {
    status: "rejected",
    httpStatus: error.status ?? 0,
    errorType: error.errorType ?? error.code,
    reason: error.message,
  };
}

/** The items of one answer to send again: their attempt counts already raised. */
export interface ItemRetries {
  ops: PendingOperation[];
  /** The distinct item statuses that asked for it (for the log). */
  statuses: number[];
  /** The highest attempt count among them, which sets the backoff. */
  attempt: number;
}

/**
 * Applies an item-by-item answer: every operation with a final outcome is handed to `settle` and counted in
 * `flushed`; the ones to retry are returned (undefined when there are none).
 */
export function settleItems(
  live: readonly PendingOperation[],
  items: readonly BulkResponseItem[],
  flushed: FlushStats,
  settle: (op: PendingOperation, outcome: ItemOutcome) => void,
  logger: Logger | undefined,
): ItemRetries | undefined {
  let retries: ItemRetries | undefined;
  for (let i = 0; i < live.length; i++) {
    const op = live[i] as PendingOperation;
    const item = items[i] as BulkResponseItem;
    const outcome = itemOutcome(op.action, item);
    if (outcome === undefined) {
      op.attempts += 1;
      retries ??= { ops: [], statuses: [], attempt: 0 };
      retries.ops.push(op);
      if (!retries.statuses.includes(item.status)) retries.statuses.push(item.status);
      retries.attempt = Math.max(retries.attempt, op.attempts);
      continue;
    }
    if (outcome.status === "indexed") flushed.indexed += 1;
    else if (outcome.status === "duplicate") flushed.duplicates += 1;
    else {
      flushed.rejected += 1;
      logger?.debug?.("bulk item rejected", {
        index: op.index,
        id: op.id,
        status: item.status,
        errorType: outcome.errorType,
      });
    }
    settle(op, outcome);
  }
  flushed.retried = retries?.ops.length ?? 0;
  return retries;
}
