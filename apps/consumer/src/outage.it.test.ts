// OpenSearch going away mid-stream and coming back: the consumer neither crashes nor stops for good, reports
// itself degraded meanwhile, commits nothing that is not indexed, and indexes every record exactly once after the
// outage. The outage is a TCP forwarder in front of the shared OpenSearch being closed (connections reset, new ones
// refused), which is what a stopped node looks like from the client, without stopping the server other suites use;
// `pnpm chaos` stops the real process on a private stack.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";
import { createForwarder } from "./testing/harness.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearch = new URL(process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200");
const run = randomUUID().slice(0, 8);
const topic = `out${run}_app_logs`;
const indexPrefix = `out${run}-app`;
const groupId = `out${run}-group`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `outage-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `outage-writer-${run}` });
let app: ConsumerApp | undefined;

const forwarder = createForwarder({ host: opensearch.hostname, port: Number(opensearch.port) });

async function writeLogs(from: number, count: number): Promise<void> {
  const context = { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  await writer.publish(
    topic,
    Array.from({ length: count }, (_, k) => ({
      value: Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, { context, timestamp: "2026-07-08T09:10:11Z", content: { seq: from + k } as never }),
        ),
      ),
    })),
  );
}

async function stats(): Promise<{ count: number; distinct: number }> {
  const base = `${opensearch.origin}/${indexPrefix}-*`;
  await fetch(`${base}/_refresh`, { method: "POST" }).catch(() => undefined);
  const res = await fetch(`${base}/_search`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      size: 0,
      track_total_hits: true,
      aggs: { distinct: { cardinality: { field: "seq", precision_threshold: 40_000 } } },
    }),
  }).catch(() => undefined);
  if (!res?.ok) return { count: 0, distinct: 0 };
  const body = (await res.json()) as {
    hits: { total: { value: number } };
    aggregations?: { distinct: { value: number } };
  };
  return { count: body.hits.total.value, distinct: body.aggregations?.distinct.value ?? 0 };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

async function committedTotal(): Promise<number> {
  const committed = await admin.fetchCommittedOffsets(groupId, [topic]);
  return committed.reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0);
}

beforeAll(async () => {
  await Promise.all([admin.connect(), writer.connect(), forwarder.up()]);
  await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
});

afterAll(async () => {
  await app?.stop(5_000).catch(() => undefined);
  await forwarder.down();
  await fetch(`${opensearch.origin}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `out${run}_dlq`, `out${run}_events`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("consumer through an OpenSearch outage (real Kafka and OpenSearch)", () => {
  it("degrades, commits nothing unindexed, and indexes every record exactly once after OpenSearch returns", async () => {
    const config = loadConsumerConfig({
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: `http://127.0.0.1:${forwarder.port}`,
      BARITO_KAFKA_TOPIC_PREFIX: `out${run}_`,
      BARITO_KAFKA_GROUP_ID: groupId,
      BARITO_CONSUMER_DLQ_TOPIC: `out${run}_dlq`,
      BARITO_NEW_TOPIC_EVENT: `out${run}_events`,
      BARITO_ELASTICSEARCH_BULK_SIZE: "200",
      BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
      LOG_LEVEL: "silent",
    });
    app = createConsumerApp(config, noopLogger);
    await app.start();
    const consumer = app;

    await writeLogs(0, 1_000);
    expect(await until(async () => (await stats()).count === 1_000, 30_000)).toBe(true);
    expect(await until(async () => (await committedTotal()) === 1_000, 10_000)).toBe(true);

    await forwarder.down();
    await writeLogs(1_000, 1_000);
    // Bulk requests fail while it is down; readiness says so instead of the process dying or giving up.
    expect(await until(() => !consumer.readiness().ready, 30_000)).toBe(true);
    expect(consumer.readiness().checks.opensearch).toBe("degraded");
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    // Nothing beyond what OpenSearch acknowledged is committed during the outage.
    expect(await committedTotal()).toBe(1_000);

    await forwarder.up();
    await writeLogs(2_000, 1_000);
    expect(await until(async () => (await stats()).count >= 3_000, 60_000)).toBe(true);
    expect(await stats()).toEqual({ count: 3_000, distinct: 3_000 });
    expect(await until(() => consumer.readiness().ready, 15_000)).toBe(true);
    expect(await until(async () => (await committedTotal()) === 3_000, 15_000)).toBe(true);
  });
});
