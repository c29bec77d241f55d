// One topic whose documents cannot be indexed (every item answered 429 by a read-only index) must not hold up
// another topic, must not lose anything, and must finish on its own once OpenSearch accepts the documents again.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import { afterAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { createConsumerAdapters } from "./adapters.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `iso${run}_`;
const blockedIndex = `iso${run}-blocked-2026.03.04`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `iso-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `iso-writer-${run}` });
let app: ConsumerApp | undefined;

const timber = (indexPrefix: string, i: number) =>
  Buffer.from(
    toBinary(
      TimberSchema,
      create(TimberSchema, {
        context: { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 1 },
        timestamp: "2026-03-04T00:00:00Z",
        content: { i },
      }),
    ),
  );

async function count(pattern: string): Promise<number> {
  await fetch(`${opensearchUrl}/${pattern}/_refresh`, { method: "POST" });
  const res = await fetch(`${opensearchUrl}/${pattern}/_count`);
  // A failed count is not "no documents": the blocked index's 0 below must be an answer, not an error.
  if (!res.ok) throw new Error(`count of ${pattern} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { count: number }).count;
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return probe();
}

function setBlock(on: boolean) {
  return fetch(`${opensearchUrl}/${blockedIndex}/_settings`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ "index.blocks.read_only_allow_delete": on ? true : null }),
  });
}

afterAll(async () => {
  await app?.stop(5_000);
  await setBlock(false).catch(() => undefined);
  await fetch(`${opensearchUrl}/iso${run}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([`${prefix}blocked_logs`, `${prefix}open_logs`, `iso${run}_dlq`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("consumer isolation (real Kafka and OpenSearch)", () => {
  it("keeps indexing other topics while one topic's index refuses writes, then catches up without loss", async () => {
    await Promise.all([admin.connect(), writer.connect()]);
    await fetch(`${opensearchUrl}/${blockedIndex}`, { method: "PUT" });
    expect((await setBlock(true)).ok).toBe(true);
    // More blocked partitions than the consumer processes at once: a design that waits inside the batch handler
    // would have every worker stuck on the blocked topic.
    await admin.createTopic({ topic: `${prefix}blocked_logs`, partitions: 6, replicationFactor: 1 });
    await admin.createTopic({ topic: `${prefix}open_logs`, partitions: 1, replicationFactor: 1 });

    const config = loadConsumerConfig({
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: opensearchUrl,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: `iso${run}`,
      BARITO_CONSUMER_DLQ_TOPIC: `iso${run}_dlq`,
      BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
      LOG_LEVEL: "silent",
    });
    app = createConsumerApp({
      config,
      logger: noopLogger,
      ...createConsumerAdapters(config, noopLogger),
      maxInFlightPerPartition: 20,
    });
    await app.start();

    await writer.publish(
      `${prefix}blocked_logs`,
      Array.from({ length: 200 }, (_, i) => ({ key: String(i), value: timber(`iso${run}-blocked`, i) })),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await writer.publish(
      `${prefix}open_logs`,
      Array.from({ length: 50 }, (_, i) => ({ value: timber(`iso${run}-open`, i) })),
    );

    expect(await waitFor(async () => (await count(`iso${run}-open-*`)) === 50, 20_000)).toBe(true);
    expect(await count(blockedIndex)).toBe(0);
    expect(app.readiness().ready).toBe(true);

    expect((await setBlock(false)).ok).toBe(true);
    expect(await waitFor(async () => (await count(blockedIndex)) === 200, 40_000)).toBe(true);

    // Every partition's committed position (next offset) adds up to the number of records written.
    const committedTotal = async (topic: string) => {
      const offsets = await admin.fetchCommittedOffsets(`iso${run}`, [topic]);
      return offsets.reduce((sum, o) => sum + (o.offset === "-1" ? 0n : BigInt(o.offset)), 0n);
    };
    expect(await waitFor(async () => (await committedTotal(`${prefix}blocked_logs`)) === 200n, 10_000)).toBe(true);
    expect(await committedTotal(`${prefix}open_logs`)).toBe(50n);
  });
});
