import { fullJitterDelay } from "./backoff.js";
import {
  actionLine,
  encodeOperation,
  type PendingOperation,
  pendingOperation,
  type SerialisedOperation,
  sourceText,
} from "./bulk-operation.js";
import { classifyRequestError } from "./classify-request-error.js";
import { SinkClosedError, SinkError } from "./errors.js";
import type {
  BulkOperation,
  BulkResponseItem,
  BulkSink,
  BulkSinkOptions,
  Clock,
  CloseOptions,
  FlushStats,
  ItemOutcome,
  SinkHealth,
  SinkStats,
  TimerHandle,
} from "./types.js";

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

const LATENCY_RING_SIZE = 256;

function bulkLines(ops: readonly SerialisedOperation[]): string[] {
  const lines: string[] = [];
  for (const op of ops) lines.push(actionLine(op), sourceText(op));
  return lines;
}

/**
 * The NDJSON body of `ops`, written into one Buffer of the size their `bytes` add up to: no string per action line,
 * no joined string to flatten and encode again, and documents given as bytes are copied as they are.
 */
export function encodeBody(ops: readonly SerialisedOperation[], bytes: number): Buffer {
  const body = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const op of ops) at = encodeOperation(op, body, at);
  if (at !== bytes) {
    throw new SinkError("INVALID_OPERATION", `bulk body has ${at} bytes instead of ${bytes}`, { retriable: false });
  }
  return body;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved <= 0) {
    throw new SinkError("INVALID_CONFIG", `${field}: must be a positive integer`, { retriable: false, field });
  }
  return resolved;
}

/** Per-item statuses worth retrying: the item may succeed later unchanged (overload, shard unavailable, timeout). */
function isRetriableItemStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function describeItemError(item: BulkResponseItem): { errorType: string; reason: string } {
  const error = item.error;
  if (!error) return { errorType: "unknown", reason: `HTTP ${item.status} without an error body` };
  const causedBy = error.caused_by?.reason;
  const reason = [error.reason, causedBy ? `caused by: ${causedBy}` : undefined].filter(Boolean).join("; ");
  return { errorType: typeof error.type === "string" ? error.type : "unknown", reason };
}

/**
 * Long-lived bulk writer for a Kafka consumer. Differs from `helpers.bulk` on purpose (engineering.md §1.4, P9):
 * - the timer is a true maximum latency from the first buffered document, not an idle timer;
 * - only failed items are retried (429/5xx/408 on the item), with exponential backoff and full jitter, forever;
 * - a whole-request failure retries the same batch (holding its in-flight slot) instead of aborting everything;
 * - every `add()` settles with a final per-document outcome, so the caller can commit offsets or dead-letter.
 */
export function createBulkSink(options: BulkSinkOptions): BulkSink {
  const client = options.client;
  if (!client || typeof client.bulk !== "function") {
    throw new SinkError("INVALID_CONFIG", "client: a BulkClient is required", { retriable: false, field: "client" });
  }
  const maxDocs = positiveInteger(options.maxDocs, 100, "maxDocs");
  const maxBytes = positiveInteger(options.maxBytes, 5 * 1024 * 1024, "maxBytes");
  const flushIntervalMs = positiveInteger(options.flushIntervalMs, 500, "flushIntervalMs");
  const maxInFlight = positiveInteger(options.maxInFlight, 2, "maxInFlight");
  const maxBufferedDocs = positiveInteger(options.maxBufferedDocs, 5_000, "maxBufferedDocs");
  const resumeBelowDocs = options.resumeBelowDocs ?? Math.floor(maxBufferedDocs / 2);
  if (!Number.isInteger(resumeBelowDocs) || resumeBelowDocs < 0 || resumeBelowDocs >= maxBufferedDocs) {
    throw new SinkError("INVALID_CONFIG", "resumeBelowDocs: must be an integer in [0, maxBufferedDocs)", {
      retriable: false,
      field: "resumeBelowDocs",
    });
  }
  const minDelayMs = positiveInteger(options.retry?.minDelayMs, 200, "retry.minDelayMs");
  const maxDelayMs = positiveInteger(options.retry?.maxDelayMs, 15_000, "retry.maxDelayMs");
  if (maxDelayMs < minDelayMs) {
    throw new SinkError("INVALID_CONFIG", "retry.maxDelayMs: must be >= retry.minDelayMs", {
      retriable: false,
      field: "retry.maxDelayMs",
    });
  }
  const degradedAfterFailures = positiveInteger(options.degradedAfterFailures, 3, "degradedAfterFailures");
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = options.logger;

  const buffer: PendingOperation[] = [];
  let bufferBytes = 0;
  const pending = new Set<PendingOperation>();
  let awaitingRetry = 0;
  /** Batch slots taken (a batch keeps its slot while waiting to retry a failed request). */
  let inFlight = 0;
  /** Requests actually open on the wire, for stats. */
  let openRequests = 0;
  /** Operations at the head of the buffer that `flush()`/`close()` asked to send regardless of the triggers. */
  let forced = 0;
  let closing = false;
  let closed = false;
  let closePromise: Promise<void> | undefined;
  let ageTimer: { handle: TimerHandle; at: number } | undefined;
  const sleeps = new Map<TimerHandle, () => void>();
  const controllers = new Set<AbortController>();

  let saturated = false;
  const drainListeners = new Set<() => void>();
  let capacityWaiters: Array<() => void> = [];
  let flushWaiters: Array<() => void> = [];
  let drainWaiters: Array<() => void> = [];

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
  // One line when requests start failing, a summary at most every outageSummaryMs, one line when they succeed
  // again: an outage of minutes must not print a warning per batch per attempt.
  const outageSummaryMs = 10_000;
  let outage: { since: number; lastSummary: number; retries: number; retriesSinceSummary: number } | undefined;

  function requestFailed(error: SinkError, batchSize: number, delayMs: number): void {
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
    if (now - outage.lastSummary < outageSummaryMs) return;
    const seconds = Math.round((now - outage.since) / 1000);
    logger?.warn(
      `OpenSearch unreachable for ${seconds} s, ${pending.size} documents waiting, ${outage.retries} retries`,
      {
        forMs: now - outage.since,
        retries: outage.retriesSinceSummary,
        documentsWaiting: pending.size,
        err: error.message,
        code: error.code,
      },
    );
    outage.lastSummary = now;
    outage.retriesSinceSummary = 0;
  }

  function requestSucceeded(): void {
    if (outage === undefined) return;
    const outageMs = clock.now() - outage.since;
    logger?.info(`bulk requests succeed again after ${Math.round(outageMs / 1000)} s`, {
      outageMs,
      retries: outage.retries,
    });
    outage = undefined;
  }

  function wakeAll(waiters: Array<() => void>): void {
    for (const wake of waiters) wake();
  }

  function updateSaturation(): void {
    const held = pending.size;
    if (!saturated && held >= maxBufferedDocs) {
      saturated = true;
      logger?.debug?.("bulk sink saturated", { pending: held });
    } else if (saturated && held <= resumeBelowDocs) {
      saturated = false;
      const waiters = capacityWaiters;
      capacityWaiters = [];
      wakeAll(waiters);
      for (const listener of drainListeners) {
        try {
          listener();
        } catch (err) {
          logger?.error("bulk sink onDrain listener threw", { err });
        }
      }
    }
  }

  function settle(op: PendingOperation, result: ItemOutcome | Error): void {
    if (op.settled) return;
    op.settled = true;
    pending.delete(op);
    try {
      op.done(result, op.source);
    } catch (err) {
      logger?.error("bulk sink outcome callback threw", { err });
    }
    updateSaturation();
    if (pending.size === 0 && drainWaiters.length > 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      wakeAll(waiters);
    }
  }

  /** A timer-backed wait that `close()` can cut short once the sink gives up. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = clock.setTimeout(() => {
        sleeps.delete(handle);
        resolve();
      }, ms);
      sleeps.set(handle, resolve);
    });
  }

  function isReady(): boolean {
    const head = buffer[0];
    if (!head) return false;
    return closing || forced > 0 || buffer.length >= maxDocs || bufferBytes >= maxBytes || head.dueAt <= clock.now();
  }

  function cutBatch(): PendingOperation[] {
    let count = 0;
    let bytes = 0;
    for (const op of buffer) {
      if (count >= maxDocs || (count > 0 && bytes + op.bytes > maxBytes)) break;
      count += 1;
      bytes += op.bytes;
    }
    bufferBytes -= bytes;
    forced = Math.max(0, forced - count);
    return buffer.splice(0, count);
  }

  function armAgeTimer(): void {
    const head = buffer[0];
    // With every slot busy the next pump comes from a finishing request; a due-now timer would only spin.
    if (!head || closed || inFlight >= maxInFlight) {
      if (ageTimer) clock.clearTimeout(ageTimer.handle);
      ageTimer = undefined;
      return;
    }
    if (ageTimer?.at === head.dueAt) return;
    if (ageTimer) clock.clearTimeout(ageTimer.handle);
    const at = head.dueAt;
    ageTimer = {
      at,
      handle: clock.setTimeout(
        () => {
          ageTimer = undefined;
          pump();
        },
        Math.max(0, at - clock.now()),
      ),
    };
  }

  function pump(): void {
    if (closed) return;
    while (inFlight < maxInFlight && isReady()) {
      const batch = cutBatch();
      inFlight += 1;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        inFlight -= 1;
        pump();
      };
      void sendBatch(batch, release)
        .catch((err: unknown) => logger?.error("bulk sink batch failed unexpectedly", { err }))
        .finally(release);
    }
    if (forced === 0 && flushWaiters.length > 0) {
      const waiters = flushWaiters;
      flushWaiters = [];
      wakeAll(waiters);
    }
    armAgeTimer();
  }

  function requeue(ops: PendingOperation[]): void {
    awaitingRetry -= ops.length;
    const live = ops.filter((op) => !op.settled);
    if (live.length === 0 || closed) return;
    const now = clock.now();
    for (const op of live) {
      op.dueAt = now;
      bufferBytes += op.bytes;
    }
    // Retried operations are the oldest ones; putting them first keeps the buffer ordered by due time.
    buffer.unshift(...live);
    if (forced > 0) forced += live.length;
    pump();
  }

  function report(stats: FlushStats): void {
    latencies.push(stats.durationMs);
    if (latencies.length > LATENCY_RING_SIZE) latencies.shift();
    if (!options.onFlush) return;
    try {
      options.onFlush(stats);
    } catch (err) {
      logger?.error("bulk sink onFlush hook threw", { err });
    }
  }

  /**
   * Sends one batch until every operation in it is settled or requeued. `release` frees its in-flight slot; it is
   * called as soon as a response arrived, so the next request leaves before this one's outcomes are processed.
   */
  async function sendBatch(batch: PendingOperation[], release: () => void = () => {}): Promise<void> {
    let requestAttempt = 0;
    for (;;) {
      const live = batch.filter((op) => !op.settled);
      if (closed || live.length === 0) return;
      let bytes = 0;
      for (const op of live) bytes += op.bytes;
      const controller = new AbortController();
      controllers.add(controller);
      const startedAt = clock.now();
      counters.bulkRequests += 1;
      openRequests += 1;
      let items: BulkResponseItem[];
      try {
        try {
          items = await (client.bulkBody
            ? client.bulkBody(encodeBody(live, bytes), live.length, controller.signal)
            : client.bulk(bulkLines(live), controller.signal));
        } finally {
          openRequests -= 1;
          controllers.delete(controller);
        }
        if (items.length !== live.length) {
          throw new SinkError("BAD_RESPONSE", `bulk client returned ${items.length} items for ${live.length}`, {
            retriable: true,
          });
        }
      } catch (caught) {
        const error = classifyRequestError(caught, "bulk request");
        const durationMs = clock.now() - startedAt;
        counters.failedRequests += 1;
        consecutiveFailures += 1;
        lastErrorCode = error.code;
        report({
          docs: live.length,
          bytes,
          durationMs,
          ok: false,
          indexed: 0,
          duplicates: 0,
          rejected: 0,
          retried: 0,
          errorCode: error.code,
          ...(error.status === undefined ? {} : { httpStatus: error.status }),
        });
        if (closed) return;
        if (error.retriable) {
          requestAttempt += 1;
          counters.retriedRequests += 1;
          const delayMs = fullJitterDelay(requestAttempt, minDelayMs, maxDelayMs, random);
          requestFailed(error, live.length, delayMs);
          await sleep(delayMs);
          continue;
        }
        if (error.status === 413 && live.length > 1) {
          // Too large as a whole, maybe not per document: halve until each part fits or a single doc is refused.
          const middle = Math.ceil(live.length / 2);
          logger?.warn("bulk request too large; splitting the batch", { batchSize: live.length, bytes });
          await sendBatch(live.slice(0, middle));
          await sendBatch(live.slice(middle));
          return;
        }
        logger?.error("bulk request rejected by the server; its documents are rejected", {
          err: error.message,
          code: error.code,
          status: error.status,
          batchSize: live.length,
        });
        for (const op of live) {
          counters.rejected += 1;
          settle(op, {
            status: "rejected",
            httpStatus: error.status ?? 0,
            errorType: error.errorType ?? error.code,
            reason: error.message,
          });
        }
        return;
      }

      consecutiveFailures = 0;
      requestSucceeded();
      release();
      const stats: FlushStats = {
        docs: live.length,
        bytes,
        durationMs: clock.now() - startedAt,
        ok: true,
        indexed: 0,
        duplicates: 0,
        rejected: 0,
        retried: 0,
      };
      const retry: PendingOperation[] = [];
      const retryStatuses = new Set<number>();
      let retryAttempt = 0;
      live.forEach((op, i) => {
        const item = items[i] as BulkResponseItem;
        if (item.status >= 200 && item.status < 300) {
          stats.indexed += 1;
          settle(op, indexedOutcome(item.status, item.result || undefined));
        } else if (item.status === 409 && op.action === "create") {
          stats.duplicates += 1;
          settle(op, DUPLICATE);
        } else if (isRetriableItemStatus(item.status)) {
          retryStatuses.add(item.status);
          op.attempts += 1;
          retryAttempt = Math.max(retryAttempt, op.attempts);
          retry.push(op);
        } else {
          stats.rejected += 1;
          const { errorType, reason } = describeItemError(item);
          logger?.debug?.("bulk item rejected", { index: op.index, id: op.id, status: item.status, errorType });
          settle(op, { status: "rejected", httpStatus: item.status, errorType, reason });
        }
      });
      stats.retried = retry.length;
      counters.indexed += stats.indexed;
      counters.duplicates += stats.duplicates;
      counters.rejected += stats.rejected;
      if (retry.length > 0) {
        counters.retriedItems += retry.length;
        awaitingRetry += retry.length;
        const delayMs = fullJitterDelay(retryAttempt, minDelayMs, maxDelayMs, random);
        logger?.warn("bulk items failed temporarily; retrying them", {
          count: retry.length,
          statuses: [...retryStatuses],
          attempt: retryAttempt,
          delayMs,
        });
        // Not awaited: the slot is free for other batches while these items wait out their backoff.
        void sleep(delayMs).then(() => requeue(retry));
      }
      report(stats);
      return;
    }
  }

  function submit<Op extends BulkOperation>(op: Op, done: (result: ItemOutcome | Error, op: Op) => void): void {
    if (closing || closed) throw new SinkClosedError();
    // One object per document on the hot path: the serialised operation is the pending entry itself.
    const serialised = pendingOperation(op, clock.now() + flushIntervalMs, done as PendingOperation["done"]);
    pending.add(serialised);
    buffer.push(serialised);
    bufferBytes += serialised.bytes;
    if (!saturated && pending.size >= maxBufferedDocs) updateSaturation();
    // With every slot busy, the request that finishes next pumps; nothing to do per document.
    if (inFlight < maxInFlight) pump();
  }

  function add(op: BulkOperation): Promise<ItemOutcome> {
    return new Promise<ItemOutcome>((resolve, reject) => {
      submit(op, (result) => (result instanceof Error ? reject(result) : resolve(result)));
    });
  }

  function flush(): Promise<void> {
    if (closed || buffer.length === 0) return Promise.resolve();
    forced = buffer.length;
    const done = new Promise<void>((resolve) => flushWaiters.push(resolve));
    pump();
    return done;
  }

  function drain(): Promise<void> {
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => drainWaiters.push(resolve));
  }

  function shutdown(): void {
    closed = true;
    armAgeTimer();
    for (const [handle, wake] of sleeps) {
      clock.clearTimeout(handle);
      wake();
    }
    sleeps.clear();
    for (const controller of controllers) controller.abort();
    const leftover = [...pending];
    buffer.length = 0;
    bufferBytes = 0;
    forced = 0;
    for (const op of leftover) settle(op, new SinkClosedError());
    if (leftover.length > 0) {
      logger?.warn("bulk sink closed with undelivered documents", { count: leftover.length });
    }
    wakeAll(capacityWaiters);
    capacityWaiters = [];
    wakeAll(flushWaiters);
    flushWaiters = [];
    wakeAll(drainWaiters);
    drainWaiters = [];
  }

  function close(closeOptions: CloseOptions = {}): Promise<void> {
    if (closePromise) return closePromise;
    const timeoutMs = closeOptions.timeoutMs ?? 30_000;
    closing = true;
    forced = buffer.length;
    pump();
    closePromise = new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        shutdown();
        resolve();
      };
      timer = clock.setTimeout(finish, Math.max(0, timeoutMs));
      void drain().then(finish);
    });
    return closePromise;
  }

  return {
    add,
    submit,
    flush,
    drain,
    close,
    isSaturated: () => saturated,
    onDrain(callback) {
      drainListeners.add(callback);
      return () => drainListeners.delete(callback);
    },
    waitForCapacity() {
      if (!saturated || closed) return Promise.resolve();
      return new Promise((resolve) => capacityWaiters.push(resolve));
    },
    stats(): SinkStats {
      return {
        ...counters,
        bulkLatenciesMs: [...latencies],
        inFlightRequests: openRequests,
        buffered: buffer.length,
        awaitingRetry,
        pending: pending.size,
      };
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
