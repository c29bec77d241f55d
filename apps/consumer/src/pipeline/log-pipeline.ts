import { setTimeout as sleep } from "node:timers/promises";
import type {
  BatchConsumer,
  IncomingBatch,
  IncomingRecord,
  MessagePublisher,
  RebalanceListener,
  TopicPartition,
} from "@barito-flow/kafka";
import { nextOffset } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import type { BulkSink, ItemOutcome } from "@barito-flow/opensearch-sink";
import type { ConsumerMetrics } from "../metrics.js";
import { dailyIndex, decodeRecord, type LogDocument } from "./documents.js";
import { OffsetTracker } from "./offset-tracker.js";

export type IndexMethod = "BulkProcessor" | "DataStream" | "SingleInsert";

export interface LogPipelineOptions {
  /** Builds the group consumer with the pipeline's rebalance callbacks. */
  createConsumer(listener: RebalanceListener): BatchConsumer;
  sink: BulkSink;
  /** Publisher for the dead-letter topic. */
  dlq: MessagePublisher;
  dlqTopic: string;
  /** Topics to read: `^<prefix>.*<suffix>$`. */
  topicPattern: RegExp;
  /** Topics that may match the pattern but are never logs (the dead-letter and new-topic event topics). */
  excludedTopics: readonly string[];
  indexMethod: IndexMethod;
  useProcessingDate: boolean;
  /** DataStream mode: makes sure the template of a data stream exists before its first write. */
  ensureDataStream?: (indexPrefix: string) => Promise<void>;
  metrics: ConsumerMetrics;
  logger: Logger;
  commitIntervalMs?: number;
  now?: () => Date;
}

export interface LogPipeline {
  start(): Promise<void>;
  /** Number of logs processed (indexed, duplicate or dead-lettered) since start; for BARITO_PRINT_TPS. */
  processed(): number;
  isRunning(): boolean;
  /** Stops fetching, waits for in-flight work (bounded), commits what is done, leaves the group. */
  stop(timeoutMs: number): Promise<void>;
}

const dlqHeaderPrefix = "barito-dlq-";

export function createLogPipeline(options: LogPipelineOptions): LogPipeline {
  const { sink, dlq, metrics, logger } = options;
  const now = options.now ?? (() => new Date());
  const tracker = new OffsetTracker();
  const dataStreams = new Map<string, Promise<void>>();
  let consumer: BatchConsumer | undefined;
  let stopping = false;
  let running = false;
  let processedCount = 0;
  let committer: NodeJS.Timeout | undefined;

  async function commitDone(only?: readonly TopicPartition[]): Promise<void> {
    if (!consumer) return;
    const owned = new Set((only ?? consumer.assignment()).map((tp) => `${tp.topic}\u0000${tp.partition}`));
    const positions = tracker.takeDirty((topic, partition) => owned.has(`${topic}\u0000${partition}`));
    if (positions.length === 0) return;
    try {
      await consumer.commit(positions);
    } catch (err) {
      tracker.restore(positions);
      logger.warn("offset commit failed; retrying with the next commit", { err, partitions: positions.length });
    }
  }

  function ensureDataStream(prefix: string): Promise<void> {
    let ready = dataStreams.get(prefix);
    if (!ready && options.ensureDataStream) {
      ready = options.ensureDataStream(prefix).catch((err: unknown) => {
        dataStreams.delete(prefix);
        throw err;
      });
      dataStreams.set(prefix, ready);
    }
    return ready ?? Promise.resolve();
  }

  async function deadLetter(
    record: IncomingRecord,
    itemIndex: number,
    outcome: { httpStatus: number; errorType: string; reason: string },
  ): Promise<void> {
    const headers: Record<string, string | Buffer> = { ...record.headers };
    Object.assign(headers, {
      [`${dlqHeaderPrefix}source-topic`]: record.topic,
      [`${dlqHeaderPrefix}source-partition`]: String(record.partition),
      [`${dlqHeaderPrefix}source-offset`]: record.offset,
      [`${dlqHeaderPrefix}item-index`]: String(itemIndex),
      [`${dlqHeaderPrefix}http-status`]: String(outcome.httpStatus),
      [`${dlqHeaderPrefix}error-type`]: outcome.errorType,
      // One line: header values with line breaks break line-oriented tools reading the dead-letter topic.
      [`${dlqHeaderPrefix}reason`]: outcome.reason.replace(/\s+/g, " ").slice(0, 2000),
    });
    // The record counts as handled only once the dead-letter topic has it: retry until then.
    for (let attempt = 0; ; attempt++) {
      try {
        await dlq.publish(options.dlqTopic, [{ value: record.value ?? Buffer.alloc(0), headers }]);
        metrics.deadLettered.inc({ reason: outcome.errorType });
        logger.warn("record dead-lettered", {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          itemIndex,
          errorType: outcome.errorType,
          httpStatus: outcome.httpStatus,
        });
        return;
      } catch (err) {
        if (stopping) throw err;
        logger.warn("dead-letter publish failed, retrying", { err, attempt });
        await sleep(Math.min(10_000, 200 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  async function indexDocument(record: IncomingRecord, doc: LogDocument): Promise<void> {
    const dataStream = options.indexMethod === "DataStream";
    if (dataStream) await ensureDataStream(doc.indexPrefix);
    const index = dataStream
      ? doc.indexPrefix
      : dailyIndex(doc.indexPrefix, doc.timestamp, options.useProcessingDate, now());
    const outcome: ItemOutcome = await sink.add({
      action: dataStream ? "create" : "index",
      index,
      id: doc.id,
      document: doc.json,
    });
    metrics.stored.inc({
      index,
      status: String(outcome.httpStatus),
      result: outcome.status,
      error: outcome.status === "rejected" ? outcome.errorType : "",
    });
    if (outcome.status === "rejected") await deadLetter(record, doc.itemIndex, outcome);
  }

  async function handleBatch(batch: IncomingBatch): Promise<void> {
    const last = batch.messages.at(-1);
    if (!last) return;
    // Reading our own dead letters would re-reject them forever.
    if (options.excludedTopics.includes(batch.topic)) {
      tracker.markDone(batch.topic, batch.partition, nextOffset(last));
      return;
    }
    metrics.incoming.inc({ topic: batch.topic }, batch.messages.length);
    metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1),
    );
    const work: Array<Promise<void>> = [];
    let logs = 0;
    for (const record of batch.messages) {
      const decoded = decodeRecord(record);
      if (!decoded.ok) {
        metrics.convertError.inc({ index: "no_index" });
        work.push(deadLetter(record, -1, { httpStatus: 0, ...decoded }));
        logs++;
        continue;
      }
      for (const doc of decoded.documents) work.push(indexDocument(record, doc));
      logs += decoded.documents.length;
      // Back-pressure: while OpenSearch is slow or down, stop pulling more of this partition into memory.
      if (sink.isSaturated()) await sink.waitForCapacity();
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    // Throwing makes the consumer deliver the batch again; deterministic ids make the replay harmless.
    if (failed) {
      if (!stopping) await sleep(1000);
      throw failed.reason;
    }
    processedCount += logs;
    tracker.markDone(batch.topic, batch.partition, nextOffset(last));
  }

  return {
    async start() {
      consumer = options.createConsumer({
        onRevoked: async (partitions, lost) => {
          if (!lost) await commitDone(partitions);
          tracker.forget(partitions);
        },
      });
      await consumer.connect();
      await consumer.subscribe([options.topicPattern]);
      await consumer.run({ eachBatch: handleBatch });
      running = true;
      committer = setInterval(() => void commitDone(), options.commitIntervalMs ?? 1000);
      committer.unref();
      logger.info("consuming", { pattern: options.topicPattern.source, indexMethod: options.indexMethod });
    },
    processed: () => processedCount,
    isRunning: () => running && !stopping,
    async stop(timeoutMs) {
      if (stopping) return;
      stopping = true;
      clearInterval(committer);
      if (consumer) consumer.pause(consumer.assignment());
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([sink.drain(), deadline]);
      // Let handlers whose documents were just acknowledged mark their batches done.
      await sleep(50);
      await commitDone();
      await consumer?.disconnect().catch((err: unknown) => logger.warn("leaving the group failed", { err }));
      running = false;
    },
  };
}
