// The composed consumer app in process, on fake adapters: Kafka batches the test delivers, a sink whose outcomes
// the test decides, a dead-letter publisher it can hold. What is committed, paused and dead-lettered is what the
// real app does with them; no Kafka, no OpenSearch.
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { noopLogger } from "@barito-flow/logger";
import type { BulkOperation } from "@barito-flow/opensearch-sink";
import { TimberSchema } from "@barito-flow/proto";
import { afterEach, describe, expect, it } from "@jest/globals";
import { type ConsumerApp, createConsumerApp } from "./app.js";
import { loadConsumerConfig } from "./config.js";
import { batchOf, createFakeAdapters } from "./testing/fakes.js";

const topic = "t_shop_logs";
const groupId = "shop-group";
const dlqTopic = "t_dlq";
const config = loadConsumerConfig({
  BARITO_KAFKA_BROKERS: "kafka.invalid:9092",
  BARITO_ELASTICSEARCH_URLS: "http://opensearch.invalid:9200",
  BARITO_KAFKA_TOPIC_PREFIX: "t_",
  BARITO_KAFKA_GROUP_ID: groupId,
  BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
  BARITO_NEW_TOPIC_EVENT: "t_events",
  LOG_LEVEL: "silent",
});
/** Long enough for several periodic commits: whatever is committable is committed by then. */
const commitIntervalMs = 10;
const severalCommits = 100;
const apps: ConsumerApp[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop(500)));
});

const timber = (seq: number) =>
  Buffer.from(
    toBinary(
      TimberSchema,
      create(TimberSchema, {
        context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 100 },
        timestamp: "2026-07-08T09:10:11Z",
        content: { seq } as never,
      }),
    ),
  );
const timbers = (from: number, count: number) => Array.from({ length: count }, (_, k) => timber(from + k));
const atOffset =
  (...offsets: number[]) =>
  (op: BulkOperation) =>
    offsets.some((offset) => op.id === `${topic}-0-${offset}`);

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await sleep(5);
  }
}

async function composed(options: { maxInFlightPerPartition?: number } = {}) {
  const fakes = createFakeAdapters();
  const app = createConsumerApp({
    config,
    logger: noopLogger,
    ...fakes.adapters,
    commitIntervalMs,
    pausePartitionAfterMs: 50,
    maxInFlightPerPartition: options.maxInFlightPerPartition ?? 100,
  });
  apps.push(app);
  await app.start();
  return { ...fakes, app, kafka: fakes.logConsumer(groupId) };
}

describe("the composed consumer on fake adapters", () => {
  it("indexes every record and commits an offset only once its documents and all before them are acknowledged", async () => {
    const { app, kafka, sink, createdTopics } = await composed();
    expect(createdTopics).toEqual([dlqTopic, "t_events"]);
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 3)));
    expect(sink.submitted.map(({ op }) => [op.action, op.index, op.id, op.document.toString()])).toEqual([
      ["index", "shop-2026.07.08", `${topic}-0-0`, '{"seq":0,"@timestamp":"2026-07-08T09:10:11Z"}'],
      ["index", "shop-2026.07.08", `${topic}-0-1`, '{"seq":1,"@timestamp":"2026-07-08T09:10:11Z"}'],
      ["index", "shop-2026.07.08", `${topic}-0-2`, '{"seq":2,"@timestamp":"2026-07-08T09:10:11Z"}'],
    ]);
    await sleep(severalCommits);
    expect(kafka.commits).toEqual([]);

    // Out of order: offset 2 is done, but 1 is not, so only offset 0 may be committed (next offset 1).
    sink.acknowledge(atOffset(0, 2));
    await until(() => kafka.committedOffset(topic, 0) === 1);
    await sleep(severalCommits);
    expect(kafka.committedOffset(topic, 0)).toBe(1);

    sink.acknowledge();
    await until(() => kafka.committedOffset(topic, 0) === 3);
    expect(app.processed()).toBe(3);
    expect(app.readiness()).toEqual({ ready: true, checks: { consuming: true, opensearch: "ok" } });
    expect(await app.stop(1_000)).toEqual({ drained: true, closed: true });
    expect(sink.closed).toBe(true);
  });

  it("dead-letters a rejected document and an undecodable record, committing them once the topic has them", async () => {
    const { kafka, sink, deadLetters } = await composed();
    deadLetters.hold();
    const undecodable = Buffer.from([0xff, 0xff, 0xff]);
    await kafka.deliver(batchOf(topic, 0, 0, [timber(0), undecodable, timber(2)]));
    expect(sink.submitted.map(({ op }) => op.id)).toEqual([`${topic}-0-0`, `${topic}-0-2`]);
    sink.pending()[0]?.settle({
      status: "rejected",
      httpStatus: 400,
      errorType: "mapper_parsing_exception",
      reason: "failed to parse\n  field [seq]",
    });
    sink.acknowledge();
    await sleep(severalCommits);
    // Both dead letters are still being written: offset 0 is not finished, so nothing is committed.
    expect(kafka.committedOffset(topic, 0)).toBe(-1);

    deadLetters.release();
    await until(() => kafka.committedOffset(topic, 0) === 3);
    const byOffset = new Map(
      deadLetters.published.map(({ topic: to, record }) => [
        record.headers?.["barito-dlq-source-offset"],
        { to, value: record.value, headers: record.headers },
      ]),
    );
    expect(byOffset.get("0")).toEqual({
      to: dlqTopic,
      value: timber(0),
      headers: {
        "barito-dlq-source-topic": topic,
        "barito-dlq-source-partition": "0",
        "barito-dlq-source-offset": "0",
        "barito-dlq-source-timestamp": "1783501811000",
        "barito-dlq-item-index": "0",
        "barito-dlq-http-status": "400",
        "barito-dlq-error-type": "mapper_parsing_exception",
        "barito-dlq-index": "shop-2026.07.08",
        "barito-dlq-reason": "failed to parse field [seq]",
      },
    });
    expect(byOffset.get("1")).toMatchObject({
      to: dlqTopic,
      value: undecodable,
      headers: { "barito-dlq-item-index": "-1", "barito-dlq-http-status": "0", "barito-dlq-source-offset": "1" },
    });
    expect(deadLetters.published).toHaveLength(2);
  });

  it("through a sink outage: commits nothing, pauses the partition, and resumes once the documents are acknowledged", async () => {
    const { app, kafka, sink } = await composed({ maxInFlightPerPartition: 4 });
    const port = await app.listen({ host: "127.0.0.1", port: 0 });
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    };
    expect(await get("/readyz")).toEqual({
      status: 200,
      type: "application/json",
      body: '{"status":"ready","checks":{"consuming":true,"opensearch":"ok"}}',
    });

    sink.setHealth("degraded");
    // Six documents over a share of four: the batch waits for them to drain, then pauses its partition.
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 6)));
    expect(kafka.paused).toEqual([{ topic, partition: 0 }]);
    expect(await get("/readyz")).toEqual({
      status: 503,
      type: "application/json",
      body: '{"status":"not_ready","checks":{"consuming":true,"opensearch":"degraded"}}',
    });
    expect(await get("/healthz")).toEqual({ status: 200, type: "application/json", body: '{"status":"ok"}' });
    await sleep(severalCommits);
    expect(kafka.commits).toEqual([]);

    sink.setHealth("ok");
    // Three left in flight is still over half the share: the partition stays paused.
    sink.acknowledge(atOffset(0, 1, 2));
    expect(kafka.resumed).toEqual([]);
    sink.acknowledge();
    expect(kafka.resumed).toEqual([{ topic, partition: 0 }]);
    await until(() => kafka.committedOffset(topic, 0) === 6);
    expect((await get("/readyz")).status).toBe(200);
  });

  it("stopped mid-batch: commits what was acknowledged, nothing after the first unfinished record", async () => {
    const { app, kafka, sink } = await composed();
    await kafka.deliver(batchOf(topic, 0, 0, timbers(0, 4)));
    sink.acknowledge(atOffset(0, 1, 3));
    await until(() => kafka.committedOffset(topic, 0) === 2);

    const startedAt = Date.now();
    const stopping = app.stop(600);
    // A batch fetched after the stop began is neither indexed nor tracked: its next owner reads it again.
    await kafka.deliver(batchOf(topic, 0, 4, timbers(4, 2)));
    expect(sink.submitted).toHaveLength(4);
    expect(await stopping).toEqual({ drained: false, closed: true });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(kafka.paused).toEqual([{ topic, partition: 0 }]);
    expect(Math.max(...kafka.commits.flat().map((entry) => Number(entry.offset)))).toBe(2);
    expect(sink.closed).toBe(true);
  });

  it("counts for BaritoMarket only the documents indexed, per app_secret: no duplicates, no dead letters", async () => {
    const added: string[] = [];
    const events: string[] = [];
    const fakes = createFakeAdapters();
    const app = createConsumerApp({
      config,
      logger: noopLogger,
      ...fakes.adapters,
      pushMetrics: {
        add: (token) => void added.push(token),
        start: () => void events.push("start"),
        stop: async () => void events.push("stop"),
      },
      commitIntervalMs,
    });
    apps.push(app);
    await app.start();
    expect(events).toEqual(["start"]);
    const withSecret = (seq: number, appSecret: string) =>
      Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, {
            context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 100, appSecret },
            content: { seq } as never,
          }),
        ),
      );
    const kafka = fakes.logConsumer(groupId);
    await kafka.deliver(
      batchOf(topic, 0, 0, [withSecret(0, "a"), withSecret(1, "b"), withSecret(2, "a"), withSecret(3, "a")]),
    );
    const [, second, third] = fakes.sink.pending();
    second?.settle({ status: "duplicate", httpStatus: 409 });
    third?.settle({ status: "rejected", httpStatus: 400, errorType: "mapper_parsing_exception", reason: "bad" });
    fakes.sink.acknowledge();
    await until(() => kafka.committedOffset(topic, 0) === 4);
    expect(added).toEqual(["a", "a"]);
    await app.stop(500);
    expect(events).toEqual(["start", "stop"]);
  });
});
