import { setTimeout as sleep } from "node:timers/promises";
import type {
  BatchConsumer,
  IncomingBatch,
  IncomingRecord,
  MessagePublisher,
  RebalanceListener,
} from "@barito-flow/kafka";
import { type StopResult, withDeadline } from "@barito-flow/lifecycle";
import type { Logger } from "@barito-flow/logger";
import { type BulkOperation, type BulkSink, type ItemOutcome, isSinkError } from "@barito-flow/opensearch-sink";
import type { ConsumerMetrics } from "../metrics.js";
import { createDailyIndexer, decodeRecord, type LogDocument } from "./documents.js";
import { createCommitter } from "./committer.js";
import { createDataStreamGate } from "./data-streams.js";
import { createDeadLetterWriter } from "./dead-letter.js";
import type { PartitionProgress } from "./partition-progress.js";
import { createStoredCounts } from "./stored-counts.js";

export type IndexMethod = "BulkProcessor" | "DataStream" | "SingleInsert";

export interface LogPipelineOptions {
  /** Builds the group consumer with the pipeline's rebalance callbacks. */
  createConsumer(listener: RebalanceListener): BatchConsumer;
  sink: BulkSink;
  /** Publisher for the dead-letter topic. */
  dlq: Pick<MessagePublisher, "publish">;
  dlqTopic: string;
  /** What to read: `^<prefix>.*<suffix>$` (one group for all log topics) or one topic (a group per topic). */
  subscription: readonly (string | RegExp)[];
  /** Topics that may match the pattern but are never logs (the dead-letter and new-topic event topics). */
  excludedTopics: readonly string[];
  indexMethod: IndexMethod;
  useProcessingDate: boolean;
  /** DataStream mode: makes sure the template of a data stream exists before its first write. */
  ensureDataStream?: (indexPrefix: string) => Promise<void>;
  metrics: ConsumerMetrics;
  logger: Logger;
  commitIntervalMs?: number;
  /**
   * Documents of one partition that may wait in the sink before that partition is paused. Bounds memory, and
   * keeps a topic whose documents fail (retried for as long as it takes) from holding up the others.
   */
  maxInFlightPerPartition?: number;
  /**
   * How long a batch waits for its partition to drain below half of `maxInFlightPerPartition` before the partition
   * is paused instead (default 5000 ms; well below the poll interval).
   */
  pauseAfterMs?: number;
  /** Each document indexed (not a duplicate, not dead-lettered), by app_secret: the counts pushed to BaritoMarket. */
  onIndexed?: (appSecret: string) => void;
  /** Redaction (barito's rules, keyed by `es_index_prefix`) applied to each document's JSON before indexing. */
  redact?: (indexPrefix: string, json: string) => string;
  now?: () => Date;
}

export interface LogPipeline {
  start(): Promise<void>;
  /** Number of logs processed (indexed, duplicate or dead-lettered) since start; for BARITO_PRINT_TPS. */
  processed(): number;
  isRunning(): boolean;
  /** The partitions the group currently assigns to this pipeline (none before start). */
  assignment(): Array<{ topic: string; partition: number }>;
  /** Makes a pattern subscription see topics created since the last metadata refresh. */
  refreshTopics(): Promise<void>;
  /**
   * Stops fetching, waits for in-flight work, commits what is done and leaves the group, all within `timeoutMs`.
   * `drained` is false when some fetched records were not finished (they are read again by the next owner);
   * `closed` is false when leaving the group did not finish in time.
   */
  stop(timeoutMs: number): Promise<StopResult>;
}

/**
 * One document on its way through the sink: the bulk operation itself, plus what its outcome needs. One object per
 * document, handed back by the sink with the outcome, instead of a chain of closures per record and document.
 */
interface DocumentJob extends BulkOperation {
  record: IncomingRecord;
  appSecret: string;
  itemIndex: number;
  progress: PartitionProgress;
  /** The record's position in `progress`. */
  position: number;
}

/** Documents as UTF-8 bytes: the sink copies them into the bulk body as they are. */
const decodeOptions = { bytes: true } as const;

/**
 * One group's flow from Kafka to OpenSearch: decodes each batch, hands its documents to the sink and keeps each
 * partition within its share of the sink. The committer commits what is finished, the dead-letter writer takes what
 * cannot be indexed, and a data stream's documents wait for its template at the gate.
 */
export function createLogPipeline(options: LogPipelineOptions): LogPipeline {
  const { sink, metrics, logger } = options;
  const now = options.now ?? (() => new Date());
  const maxInFlight = options.maxInFlightPerPartition ?? 5_000;
  const pauseAfterMs = options.pauseAfterMs ?? 5_000;
  const indexFor = createDailyIndexer(options.useProcessingDate, now);
  let consumer: BatchConsumer | undefined;
  let stopping = false;
  let stopped: Promise<StopResult> | undefined;
  let wakeOnStop: () => void = () => {};
  /** Settles when stopping starts: nothing that eachBatch awaits may outlive it, or leaving the group waits. */
  const stopSignal = new Promise<void>((resolve) => {
    wakeOnStop = resolve;
  });
  let running = false;
  let processedCount = 0;
  const storedCounts = createStoredCounts(metrics);
  const committer = createCommitter({ consumer: () => consumer, logger, beforeCommit: storedCounts.flush });
  const deadLetters = createDeadLetterWriter({
    publisher: options.dlq,
    topic: options.dlqTopic,
    metrics,
    logger,
    isStopping: () => stopping,
  });
  const dataStreams = createDataStreamGate({
    ensure: options.ensureDataStream,
    logger,
    isStopping: () => stopping,
  });

  async function stopWithin(timeoutMs: number): Promise<StopResult> {
    stopping = true;
    wakeOnStop();
    const deadline = Date.now() + timeoutMs;
    const remaining = () => deadline - Date.now();
    // Committing and leaving the group get their share of the budget whatever the drain takes.
    const closeReserveMs = Math.min(10_000, Math.floor(timeoutMs / 3));
    for (const progress of committer.partitions()) progress.drainWaiter?.(false);
    committer.stopPeriodic();
    if (consumer) consumer.pause(consumer.assignment());
    await withDeadline(sink.drain(), remaining() - closeReserveMs);
    // Let the outcomes just acknowledged (and their dead-letter writes) mark their records finished.
    while (!committer.allFinished() && remaining() > closeReserveMs) await sleep(20);
    const finished = committer.allFinished();
    const committed = (await withDeadline(committer.commit(), remaining() - closeReserveMs / 2)) ?? false;
    // A disconnect that failed has ended all the same; one still running after the deadline has not.
    const leaving = consumer
      ? consumer.disconnect().then(
          () => true,
          (err: unknown) => {
            logger.warn("leaving the group failed", { err });
            return true;
          },
        )
      : Promise.resolve(true);
    const left = (await withDeadline(leaving, remaining())) ?? false;
    if (!left) logger.warn("leaving the group did not finish within the shutdown timeout");
    running = false;
    return { drained: finished && committed, closed: left };
  }

  /**
   * A document the sink or OpenSearch refuses before any bulk item exists (an invalid index name or id, a refused
   * data stream template) is poison like any 400: dead-lettered, or its partition would never commit again.
   */
  function refusal(err: unknown): Extract<ItemOutcome, { status: "rejected" }> | undefined {
    if (!isSinkError(err) || err.retriable) return undefined;
    return {
      status: "rejected",
      httpStatus: err.status ?? 0,
      errorType: err.errorType ?? `invalid_${err.field ?? "operation"}`,
      reason: err.message,
    };
  }

  /** One unit of a record finished (indexed, duplicate or dead-lettered). */
  function unitDone(progress: PartitionProgress, position: number): void {
    processedCount++;
    // The partition was revoked meanwhile: its new owner reads these records again.
    if (progress.revoked) return;
    progress.finish(position);
    if (progress.inFlight <= maxInFlight / 2) {
      progress.drainWaiter?.(true);
      if (progress.paused && !stopping) {
        progress.paused = false;
        consumer?.resume([{ topic: progress.topic, partition: progress.partition }]);
      }
    }
  }

  /**
   * A unit that fails (only at shutdown: the sink or the dead-letter publisher closed) stays unfinished, so its
   * record is not committed and is read again after the restart.
   */
  function unitFailed(record: IncomingRecord, err: unknown): void {
    logger.debug("document not finished", { err, offset: record.offset });
  }

  /** Final step of one document: metrics, then the dead-letter write when refused, then its unit is done. */
  function documentSettled(result: ItemOutcome | Error, job: DocumentJob): void {
    let outcome: ItemOutcome;
    if (result instanceof Error) {
      const refused = refusal(result);
      if (!refused) {
        unitFailed(job.record, result);
        return;
      }
      outcome = refused;
    } else outcome = result;
    if (outcome.status !== "rejected") {
      storedCounts.add(job.index, outcome.httpStatus);
      if (outcome.status === "indexed") options.onIndexed?.(job.appSecret);
      unitDone(job.progress, job.position);
      return;
    }
    metrics.stored.inc({
      index: job.index,
      status: String(outcome.httpStatus),
      result: outcome.status,
      error: outcome.errorType,
    });
    deadLetters.write(job.record, job.itemIndex, { ...outcome, index: job.index }).then(
      () => unitDone(job.progress, job.position),
      (err: unknown) => unitFailed(job.record, err),
    );
  }

  function submitDocument(job: DocumentJob): void {
    try {
      sink.submit(job, documentSettled);
    } catch (err) {
      documentSettled(err instanceof Error ? err : new Error(String(err)), job);
    }
  }

  /**
   * Hands one document to the sink; its unit finishes once it is indexed, a duplicate or dead-lettered. Callbacks,
   * not promises: this runs for every document, and a promise chain per document costs CPU that OpenSearch, on the
   * same machine, would rather have.
   */
  function indexDocument(
    record: IncomingRecord,
    doc: LogDocument,
    progress: PartitionProgress,
    position: number,
  ): void {
    const dataStream = options.indexMethod === "DataStream";
    const job: DocumentJob = {
      action: dataStream ? "create" : "index",
      index: dataStream ? doc.indexPrefix : indexFor(doc.indexPrefix, doc.timestamp, record.timestamp),
      id: doc.id,
      document: options.redact ? options.redact(doc.indexPrefix, doc.json.toString()) : doc.json,
      record,
      appSecret: doc.appSecret,
      itemIndex: doc.itemIndex,
      progress,
      position,
    };
    if (!dataStream || dataStreams.isReady(doc.indexPrefix)) {
      submitDocument(job);
      return;
    }
    dataStreams.whenReady(doc.indexPrefix).then(
      () => submitDocument(job),
      (err: unknown) => documentSettled(err instanceof Error ? err : new Error(String(err)), job),
    );
  }

  /** Resolves true once `progress` is down to half of `maxInFlight`, false after `pauseAfterMs` (or when stopping). */
  function partitionDrained(progress: PartitionProgress): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), pauseAfterMs);
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        if (progress.drainWaiter === finish) progress.drainWaiter = undefined;
        resolve(drained && !progress.revoked);
      };
      progress.drainWaiter = finish;
    });
  }

  /**
   * Hands the batch to the sink and returns at once: waiting here would hold the fetch loop (and, past the poll
   * interval, the group membership) for as long as OpenSearch needs. Completion is tracked per record instead.
   */
  async function handleBatch(batch: IncomingBatch): Promise<void> {
    const last = batch.messages.at(-1);
    // Records not tracked are not committed: the group's next owner reads them again.
    if (!last || stopping) return;
    const owner = committer.progressOf(batch.topic, batch.partition);
    // Reading our own dead letters would re-reject them forever.
    if (options.excludedTopics.includes(batch.topic)) {
      for (const record of batch.messages) owner.track(record.offset, 0);
      return;
    }
    metrics.incoming.inc({ topic: batch.topic }, batch.messages.length);
    metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1),
    );
    for (const record of batch.messages) {
      const decoded = decodeRecord(record, decodeOptions);
      const position = owner.track(record.offset, decoded.ok ? decoded.documents.length : 1);
      if (!decoded.ok) {
        metrics.convertError.inc({ index: "no_index" });
        deadLetters.write(record, -1, { httpStatus: 0, ...decoded }).then(
          () => unitDone(owner, position),
          (err: unknown) => unitFailed(record, err),
        );
        continue;
      }
      for (const doc of decoded.documents) indexDocument(record, doc, owner, position);
    }
    // Usually a partition over its share is only ahead of OpenSearch: waiting here a moment keeps the records
    // already fetched for it, whereas pausing discards them (the client seeks back and fetches them again, which
    // cost a third of the consumer's CPU when every busy partition went through pause/resume cycles). A partition
    // whose documents do not finish in that time (a failing index) is paused, so it cannot hold up the others.
    if (owner.inFlight > maxInFlight && !owner.paused && !(await partitionDrained(owner))) {
      // Drained meanwhile (its last outcome may have landed between the timeout and now): nothing would resume it.
      if (stopping || owner.revoked || owner.paused || owner.inFlight <= maxInFlight / 2) return;
      owner.paused = true;
      consumer?.pause([{ topic: batch.topic, partition: batch.partition }]);
      logger.info("partition paused until its documents are indexed", {
        topic: batch.topic,
        partition: batch.partition,
        inFlight: owner.inFlight,
      });
    }
    // The sink's own buffer bound: stop pulling new records into memory while it is full.
    if (sink.isSaturated()) await Promise.race([sink.waitForCapacity(), stopSignal]);
    // Batches already fetched follow each other in microtasks, which would starve I/O: bulk responses (whose
    // acknowledgements free memory and commit offsets) and requests waiting to be sent. One turn of the event loop
    // per batch keeps the sink's requests flowing while Kafka records are being decoded.
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }

  return {
    async start() {
      consumer = options.createConsumer({
        onRevoked: (revoked, lost) => committer.revoke(revoked, lost),
      });
      await consumer.connect();
      await consumer.subscribe(options.subscription);
      await consumer.run({ eachBatch: handleBatch });
      running = true;
      committer.startPeriodic(options.commitIntervalMs ?? 1000);
      logger.info("consuming", { subscription: options.subscription.map(String), indexMethod: options.indexMethod });
    },
    processed: () => processedCount,
    isRunning: () => running && !stopping,
    assignment: () => consumer?.assignment() ?? [],
    async refreshTopics() {
      if (running && !stopping) await consumer?.refreshTopics();
    },
    stop(timeoutMs) {
      stopped ??= stopWithin(timeoutMs);
      return stopped;
    },
  };
}
