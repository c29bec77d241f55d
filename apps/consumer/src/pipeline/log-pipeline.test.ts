// The log pipeline on its own, on in-memory fakes: the order of commits per partition, dead-letter writes that fail
// and are retried, refusals and failures from the sink, pause and resume, revocations and the stop. What app.test.ts
// shows through the composed app is shown here at the pipeline's own interface, with the edges it alone decides.
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import type { OutgoingRecord, RebalanceListener, TopicPartition } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { type BulkOperation, type BulkSink, SinkClosedError, SinkError } from "@barito-flow/opensearch-sink";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { afterEach, describe, expect, it } from "@jest/globals";
import { createConsumerMetrics } from "../metrics.js";
import { batchOf, createFakeGroupConsumer, createFakeSink, type FakeGroupConsumer } from "../testing/fakes.js";
import { createLogPipeline, type LogPipeline, type LogPipelineOptions } from "./log-pipeline.js";

const topic = "t_shop_logs";
const dlqTopic = "t_dlq";
const context = { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 100 };
const timber = (seq: number) =>
  Buffer.from(
    toBinary(
      TimberSchema,
      create(TimberSchema, { context, timestamp: "2026-07-08T09:10:11Z", content: { seq } as never }),
    ),
  );
const timbers = (from: number, count: number) => Array.from({ length: count }, (_, k) => timber(from + k));
const undecodable = Buffer.from([0xff, 0xff, 0xff]);
const idAt = (partition: number, offset: number) => `${topic}-${partition}-${offset}`;
const at =
  (partition: number, ...offsets: number[]) =>
  (op: BulkOperation) =>
    offsets.some((offset) => op.id === idAt(partition, offset));

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await sleep(5);
  }
}

/** A dead-letter publisher that fails its first `failures` calls. */
function flakyDeadLetters(failures = 0) {
  const published: Array<{ topic: string; record: OutgoingRecord }> = [];
  let calls = 0;
  return {
    published,
    calls: () => calls,
    async publish(to: string, records: readonly OutgoingRecord[]) {
      calls++;
      if (calls <= failures) throw new Error("broker away");
      for (const record of records) published.push({ topic: to, record });
    },
  };
}

const pipelines: LogPipeline[] = [];
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.stop(200)));
});

async function started(options: Partial<LogPipelineOptions> & { dlqFailures?: number } = {}) {
  const sink = createFakeSink();
  const deadLetters = flakyDeadLetters(options.dlqFailures);
  let kafka: FakeGroupConsumer | undefined;
  let listener: RebalanceListener = {};
  const pipeline = createLogPipeline({
    createConsumer(rebalance) {
      listener = rebalance;
      kafka = createFakeGroupConsumer({ groupId: "g", ...rebalance });
      return kafka;
    },
    sink,
    dlq: deadLetters,
    dlqTopic,
    subscription: [/^t_.*_logs$/],
    excludedTopics: [dlqTopic],
    indexMethod: "BulkProcessor",
    useProcessingDate: false,
    metrics: createConsumerMetrics(),
    logger: noopLogger,
    // Commits only where a test makes them happen (revoke, stop) unless it asks for periodic ones.
    commitIntervalMs: 60_000,
    maxInFlightPerPartition: 100,
    pauseAfterMs: 30,
    ...options,
  });
  pipelines.push(pipeline);
  await pipeline.start();
  if (!kafka) throw new Error("the pipeline built no consumer");
  const revoke = (partitions: TopicPartition[], lost: boolean) => listener.onRevoked?.(partitions, lost);
  return { pipeline, kafka, sink, deadLetters, revoke };
}

describe("createLogPipeline()", () => {
  it("commits each partition up to its first unfinished record; a collection's record waits for all its documents", async () => {
    const { pipeline, kafka, sink } = await started({ commitIntervalMs: 5 });
    const collection = Buffer.from(
      toBinary(
        TimberCollectionSchema,
        create(TimberCollectionSchema, {
          context,
          items: [
            { timestamp: "2026-07-08T09:10:11Z", content: { n: 1 } },
            { timestamp: "2026-07-08T09:10:11Z", content: { n: 2 } },
          ],
        }),
      ),
    );
    await kafka.deliver(batchOf(topic, 0, 10, timbers(0, 3)));
    const p1 = batchOf(topic, 1, 0, [collection, timber(9)]);
    (p1.messages[0] as { headers: Record<string, string> }).headers = { message_format: "TimberCollection" };
    await kafka.deliver(p1);
    expect(sink.submitted.map(({ op }) => op.id)).toEqual([
      idAt(0, 10),
      idAt(0, 11),
      idAt(0, 12),
      `${idAt(1, 0)}-0`,
      `${idAt(1, 0)}-1`,
      idAt(1, 1),
    ]);

    // Offsets 10 and 12 done, 11 not: the committed position is 11 (the next offset to read), not 13.
    sink.acknowledge(at(0, 10, 12));
    // One document of the collection done, and the record after it: partition 1 commits nothing yet.
    sink.acknowledge((op) => op.id === `${idAt(1, 0)}-0` || op.id === idAt(1, 1));
    await until(() => kafka.committedOffset(topic, 0) === 11);
    await sleep(30);
    expect(kafka.committedOffset(topic, 0)).toBe(11);
    expect(kafka.committedOffset(topic, 1)).toBe(-1);

    sink.acknowledge();
    await until(() => kafka.committedOffset(topic, 0) === 13 && kafka.committedOffset(topic, 1) === 2);
    // Every commit only moved forward.
    for (const partition of [0, 1]) {
      const positions = kafka.commits
        .flat()
        .filter((entry) => entry.partition === partition)
        .map((entry) => Number(entry.offset));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    expect(pipeline.processed()).toBe(6);
    expect(await pipeline.stop(500)).toEqual({ drained: true, closed: true });
  });

  it("retries a dead-letter write that fails, and commits the record only once the topic has it", async () => {
    const { pipeline, kafka, sink, deadLetters } = await started({ dlqFailures: 2 });
    await kafka.deliver(batchOf(topic, 0, 0, [undecodable, timber(1)]));
    sink.acknowledge();
    // The first write failed; the record before the acknowledged one is not finished, so nothing is committable.
    await until(() => deadLetters.calls() >= 1);
    expect(deadLetters.published).toEqual([]);
    expect(pipeline.processed()).toBe(1);

    // Retried after 200 ms, then 400 ms: the third call lands.
    await until(() => deadLetters.published.length === 1, 3_000);
    expect(deadLetters.calls()).toBe(3);
    expect(deadLetters.published[0]).toMatchObject({
      topic: dlqTopic,
      record: {
        value: undecodable,
        headers: { "barito-dlq-source-offset": "0", "barito-dlq-error-type": "decode_error" },
      },
    });
    await until(() => pipeline.processed() === 2);
    expect(await pipeline.stop(500)).toEqual({ drained: true, closed: true });
    expect(kafka.committedOffset(topic, 0)).toBe(2);
  });

  it("dead-letters what the sink refuses outright; a retriable failure leaves the record uncommitted", async () => {
    const sink = createFakeSink();
    const refusing: BulkSink = {
      ...sink,
      submit(op, done) {
        if (op.id === idAt(0, 0))
          throw new SinkError("INVALID_OPERATION", "index: must be lowercase", { retriable: false, field: "index" });
        sink.submit(op, done);
      },
    };
    const { pipeline, kafka, deadLetters } = await started({ sink: refusing });
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 3)));
    sink.acknowledge(at(0, 1));
    // Offset 2 fails with the sink's closed error (retriable: the next owner reads it again), not a dead letter.
    sink.pending()[0]?.settle(new SinkClosedError());
    await until(() => deadLetters.published.length === 1);
    expect(deadLetters.published[0]?.record.headers).toMatchObject({
      "barito-dlq-source-offset": "0",
      "barito-dlq-http-status": "0",
      "barito-dlq-error-type": "invalid_index",
      "barito-dlq-reason": "index: must be lowercase",
    });
    expect(await pipeline.stop(300)).toEqual({ drained: false, closed: true });
    expect(kafka.committedOffset(topic, 0)).toBe(2);
    expect(pipeline.processed()).toBe(2);
    expect(deadLetters.published).toHaveLength(1);
  });

  it("pauses a partition whose documents do not drain in time, resumes it at half its share, and never pauses one that drains", async () => {
    const { kafka, sink } = await started({ maxInFlightPerPartition: 4, pauseAfterMs: 200 });
    const startedAt = Date.now();
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 6)));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(195);
    expect(kafka.paused).toEqual([{ topic, partition: 0 }]);
    // 3 in flight is still over half of 4.
    sink.acknowledge(at(0, 0, 1, 2));
    expect(kafka.resumed).toEqual([]);
    sink.acknowledge(at(0, 3));
    expect(kafka.resumed).toEqual([{ topic, partition: 0 }]);
    sink.acknowledge();
    expect(kafka.resumed).toHaveLength(1);

    // Partition 1 drains while its batch waits: it is not paused, and its batch returns before the pause time.
    const waiting = kafka.deliver(batchOf(topic, 1, 0, timbers(0, 6)));
    await sleep(5);
    const drainedAt = Date.now();
    sink.acknowledge(at(1, 0, 1, 2, 3));
    await waiting;
    expect(Date.now() - drainedAt).toBeLessThan(100);
    expect(kafka.paused).toEqual([{ topic, partition: 0 }]);
  });

  it("commits a revoked partition's finished records before letting it go (not when lost); later outcomes move nothing", async () => {
    const { pipeline, kafka, sink, revoke } = await started();
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 4)));
    await kafka.deliver(batchOf(topic, 1, 0, timbers(0, 2)));
    sink.acknowledge(at(0, 0, 1));
    sink.acknowledge(at(1, 0, 1));
    await revoke([{ topic, partition: 0 }], false);
    expect(kafka.commits).toEqual([[{ topic, partition: 0, offset: "2" }]]);
    await revoke([{ topic, partition: 1 }], true);
    expect(kafka.commits).toHaveLength(1);

    // The rest of partition 0 finishes after it went: its next owner reads offsets 2 and 3 again.
    sink.acknowledge();
    expect(await pipeline.stop(500)).toEqual({ drained: true, closed: true });
    expect(kafka.commits).toEqual([[{ topic, partition: 0, offset: "2" }]]);
  });

  it("stop: a batch waiting for its partition returns at once, nothing fetched later is taken, the finished prefix is committed", async () => {
    const { pipeline, kafka, sink } = await started({ maxInFlightPerPartition: 2, pauseAfterMs: 60_000 });
    const waiting = kafka.deliver(batchOf(topic, 0, 0, timbers(0, 4)));
    sink.acknowledge(at(0, 0));
    const stopping = pipeline.stop(300);
    await waiting;
    expect(pipeline.isRunning()).toBe(false);
    await kafka.deliver(batchOf(topic, 0, 4, timbers(4, 2)));
    expect(sink.submitted).toHaveLength(4);
    expect(await stopping).toEqual({ drained: false, closed: true });
    expect(kafka.committedOffset(topic, 0)).toBe(1);
    expect(kafka.paused).toEqual([{ topic, partition: 0 }]);
  });

  it("skips its own dead-letter topic: nothing indexed, every record committed", async () => {
    const { pipeline, kafka, sink, deadLetters } = await started();
    await kafka.deliver(batchOf(dlqTopic, 0, 0, [undecodable, timber(1)]));
    expect(sink.submitted).toEqual([]);
    expect(await pipeline.stop(500)).toEqual({ drained: true, closed: true });
    expect(kafka.committedOffset(dlqTopic, 0)).toBe(2);
    expect(deadLetters.published).toEqual([]);
    expect(pipeline.processed()).toBe(0);
  });
});
