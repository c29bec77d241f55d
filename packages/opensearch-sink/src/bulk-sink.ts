import { fullJitterDelay } from "./backoff.js";
import { createBackpressure } from "./backpressure.js";
import { BatchBuffer } from "./batch-buffer.js";
import { bulkLines, encodeBody, type PendingOperation, pendingOperation } from "./bulk-operation.js";
import { classifyRequestError } from "./classify-request-error.js";
import { SinkClosedError, SinkError } from "./errors.js";
import { requestFailureAction, requestRejectedOutcome, settleItems } from "./item-outcomes.js";
import { createOutageLog } from "./outage-log.js";
import { resolveSinkOptions } from "./sink-options.js";
import { createSinkStats, flushStats } from "./sink-stats.js";
import type {
  BulkOperation,
  BulkResponseItem,
  BulkSink,
  BulkSinkOptions,
  CloseOptions,
  FlushStats,
  ItemOutcome,
  TimerHandle,
} from "./types.js";

/**
 * Long-lived bulk writer for a Kafka consumer. Differs from `helpers.bulk` on purpose (engineering.md §1.4, P9):
 * - the timer is a true maximum latency from the first buffered document, not an idle timer;
 * - only failed items are retried (429/5xx/408 on the item), with exponential backoff and full jitter, forever;
 * - a whole-request failure retries the same batch (holding its in-flight slot) instead of aborting everything;
 * - every `add()` settles with a final per-document outcome, so the caller can commit offsets or dead-letter.
 * This module batches, sends and settles; the options, back-pressure, outcome rules, outage log and statistics
 * live in their own modules.
 */
export function createBulkSink(options: BulkSinkOptions): BulkSink {
  const settings = resolveSinkOptions(options);
  const { client, maxDocs, maxBytes, flushIntervalMs, maxInFlight, minDelayMs, maxDelayMs, clock, random, logger } =
    settings;
  const backpressure = createBackpressure(settings);
  const outageLog = createOutageLog(clock, logger);
  const stats = createSinkStats(settings);
  const { counters } = stats;

  const buffer = new BatchBuffer(maxDocs, maxBytes);
  const pending = new Set<PendingOperation>();
  let awaitingRetry = 0;
  /** Batch slots taken (a batch keeps its slot while waiting to retry a failed request). */
  let inFlight = 0;
  /** Requests actually open on the wire, for stats. */
  let openRequests = 0;
  let closing = false;
  let closed = false;
  let closePromise: Promise<void> | undefined;
  let ageTimer: { handle: TimerHandle; at: number } | undefined;
  const sleeps = new Map<TimerHandle, () => void>();
  const controllers = new Set<AbortController>();
  let flushWaiters: Array<() => void> = [];
  let drainWaiters: Array<() => void> = [];

  function wakeAll(waiters: Array<() => void>): void {
    for (const wake of waiters) wake();
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
    backpressure.update(pending.size);
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

  function armAgeTimer(): void {
    const head = buffer.head();
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
    while (inFlight < maxInFlight && buffer.isReady(clock.now(), closing)) {
      const batch = buffer.cut();
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
    if (!buffer.hasForced() && flushWaiters.length > 0) {
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
    buffer.requeue(live, clock.now());
    pump();
  }

  /** Sends `live` once; the items of the answer, or the whole-request failure as a `SinkError`. */
  async function request(live: PendingOperation[], bytes: number): Promise<BulkResponseItem[] | SinkError> {
    const controller = new AbortController();
    controllers.add(controller);
    counters.bulkRequests += 1;
    openRequests += 1;
    try {
      const items = await (client.bulkBody
        ? client.bulkBody(encodeBody(live, bytes), live.length, controller.signal)
        : client.bulk(bulkLines(live), controller.signal));
      if (items.length !== live.length) {
        return new SinkError("BAD_RESPONSE", `bulk client returned ${items.length} items for ${live.length}`, {
          retriable: true,
        });
      }
      return items;
    } catch (caught) {
      return classifyRequestError(caught, "bulk request");
    } finally {
      openRequests -= 1;
      controllers.delete(controller);
    }
  }

  /** Settles the items with a final outcome; the others wait out a backoff, then join the buffer again. */
  function applyItems(live: PendingOperation[], items: BulkResponseItem[], flushed: FlushStats): void {
    const retries = settleItems(live, items, flushed, settle, logger);
    if (retries === undefined) return;
    awaitingRetry += retries.ops.length;
    const delayMs = fullJitterDelay(retries.attempt, minDelayMs, maxDelayMs, random);
    logger?.warn("bulk items failed temporarily; retrying them", {
      count: retries.ops.length,
      statuses: retries.statuses,
      attempt: retries.attempt,
      delayMs,
    });
    // Not awaited: the slot is free for other batches while these items wait out their backoff.
    void sleep(delayMs).then(() => requeue(retries.ops));
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
      const startedAt = clock.now();
      const answer = await request(live, bytes);
      if (!(answer instanceof SinkError)) {
        stats.requestSucceeded();
        outageLog.requestSucceeded();
        release();
        const flushed = flushStats(live.length, bytes, clock.now() - startedAt, true);
        applyItems(live, answer, flushed);
        stats.report(flushed);
        return;
      }
      const error = answer;
      stats.requestFailed(error);
      stats.report({
        ...flushStats(live.length, bytes, clock.now() - startedAt, false),
        errorCode: error.code,
        ...(error.status === undefined ? {} : { httpStatus: error.status }),
      });
      if (closed) return;
      const action = requestFailureAction(error, live.length);
      if (action === "retry") {
        requestAttempt += 1;
        counters.retriedRequests += 1;
        const delayMs = fullJitterDelay(requestAttempt, minDelayMs, maxDelayMs, random);
        outageLog.requestFailed(error, live.length, delayMs, pending.size);
        await sleep(delayMs);
        continue;
      }
      if (action === "split") {
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
        settle(op, requestRejectedOutcome(error));
      }
      return;
    }
  }

  function submit<Op extends BulkOperation>(op: Op, done: (result: ItemOutcome | Error, op: Op) => void): void {
    if (closing || closed) throw new SinkClosedError();
    // One object per document on the hot path: the serialised operation is the pending entry itself.
    const serialised = pendingOperation(op, clock.now() + flushIntervalMs, done as PendingOperation["done"]);
    pending.add(serialised);
    buffer.push(serialised);
    backpressure.update(pending.size);
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
    buffer.forceAll();
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
    buffer.clear();
    for (const op of leftover) settle(op, new SinkClosedError());
    if (leftover.length > 0) {
      logger?.warn("bulk sink closed with undelivered documents", { count: leftover.length });
    }
    backpressure.close();
    wakeAll(flushWaiters);
    flushWaiters = [];
    wakeAll(drainWaiters);
    drainWaiters = [];
  }

  function close(closeOptions: CloseOptions = {}): Promise<void> {
    if (closePromise) return closePromise;
    const timeoutMs = closeOptions.timeoutMs ?? 30_000;
    closing = true;
    buffer.forceAll();
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
    isSaturated: backpressure.isSaturated,
    onDrain: backpressure.onDrain,
    waitForCapacity: () => (closed ? Promise.resolve() : backpressure.waitForCapacity()),
    stats: () =>
      stats.snapshot({ inFlightRequests: openRequests, buffered: buffer.length, awaitingRetry, pending: pending.size }),
    health: stats.health,
  };
}
