// Topic discovery on the real stack: a topic created after the consumer started is consumed after its
// announcement on the new-topic event topic (with the rescan far away), or by the rescan alone when nobody
// announced it; BARITO_KAFKA_UNIQUE_GROUP_ID gives each topic a group of its own, as barito-flow does.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `discovery-it-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `discovery-it-writer-${run}` });
const apps: ConsumerApp[] = [];
const topics: string[] = [];

function startConsumer(name: string, env: Record<string, string>): ConsumerApp {
  const config = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearchUrl,
    BARITO_KAFKA_TOPIC_PREFIX: `dt${run}${name}_`,
    BARITO_KAFKA_GROUP_ID: `dt${run}${name}-group`,
    BARITO_NEW_TOPIC_EVENT: `dt${run}${name}_events`,
    BARITO_CONSUMER_DLQ_TOPIC: `dt${run}${name}_dlq`,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
    LOG_LEVEL: "silent",
    ...env,
  });
  const app = createConsumerApp(config, noopLogger);
  apps.push(app);
  topics.push(config.kafka.newTopicEventTopic, config.consumer.dlqTopic);
  return app;
}

async function writeLogs(topic: string, indexPrefix: string, count: number): Promise<void> {
  const context = { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  await writer.publish(
    topic,
    Array.from({ length: count }, (_, i) => ({
      value: Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, { context, timestamp: "2026-05-06T07:08:09Z", content: { i } as never }),
        ),
      ),
    })),
  );
}

async function indexed(indexPrefix: string): Promise<number> {
  await fetch(`${opensearchUrl}/${indexPrefix}-*/_refresh`, { method: "POST" });
  const res = await fetch(`${opensearchUrl}/${indexPrefix}-*/_count`);
  return res.ok ? ((await res.json()) as { count: number }).count : 0;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, tick?: () => Promise<void>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await tick?.();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return condition();
}

async function createLogTopic(name: string, partitions = 2): Promise<string> {
  await admin.createTopic({ topic: name, partitions, replicationFactor: 1 });
  topics.push(name);
  return name;
}

beforeAll(async () => {
  await Promise.all([admin.connect(), writer.connect()]);
});

afterAll(async () => {
  for (const app of apps) await app.stop(5_000).catch(() => undefined);
  await fetch(`${opensearchUrl}/dt${run}*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("topic discovery (real Kafka and OpenSearch)", () => {
  it("consumes a new topic within seconds of its announcement, long before the rescan", async () => {
    const app = startConsumer("ev", { BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "10m" });
    await app.start();
    const topic = await createLogTopic(`dt${run}ev_orders_logs`);
    const indexPrefix = `dt${run}ev-orders`;
    await writeLogs(topic, indexPrefix, 5);
    const announcedAt = Date.now();
    // The announcement reader joins its own group after start: until it has its partition, an announcement is
    // read from "latest" and may be missed, which is what the rescan is for. Announcing again is what the
    // producer does for each topic it creates; here it only bridges the join.
    const announce = () => writer.publish(`dt${run}ev_events`, [{ value: Buffer.from(topic) }]);
    await announce();
    let nextAnnouncement = Date.now() + 2_000;
    const found = await until(
      async () => (await indexed(indexPrefix)) === 5,
      30_000,
      async () => {
        if (Date.now() >= nextAnnouncement) {
          nextAnnouncement = Date.now() + 2_000;
          await announce();
        }
      },
    );
    expect(found).toBe(true);
    expect(Date.now() - announcedAt).toBeLessThan(30_000);
  });

  it("finds a topic nobody announced at the next rescan", async () => {
    const app = startConsumer("rs", { BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s" });
    await app.start();
    const topic = await createLogTopic(`dt${run}rs_billing_logs`);
    const indexPrefix = `dt${run}rs-billing`;
    await writeLogs(topic, indexPrefix, 4);
    expect(await until(async () => (await indexed(indexPrefix)) === 4, 30_000)).toBe(true);
  });

  it("BARITO_KAFKA_UNIQUE_GROUP_ID: one group <group>_<topic> per topic, each committing its own offsets", async () => {
    const first = await createLogTopic(`dt${run}ug_a_logs`, 2);
    await writeLogs(first, `dt${run}ug-a`, 6);
    const app = startConsumer("ug", {
      BARITO_KAFKA_UNIQUE_GROUP_ID: "true",
      BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
    });
    await app.start();
    // A topic appearing later gets its own group too.
    const second = await createLogTopic(`dt${run}ug_b_logs`, 1);
    await writeLogs(second, `dt${run}ug-b`, 3);
    expect(await until(async () => (await indexed(`dt${run}ug-a`)) === 6, 30_000)).toBe(true);
    expect(await until(async () => (await indexed(`dt${run}ug-b`)) === 3, 30_000)).toBe(true);
    await app.stop(10_000);

    for (const [topic, count] of [
      [first, 6],
      [second, 3],
    ] as const) {
      const committed = await admin.fetchCommittedOffsets(`dt${run}ug-group_${topic}`, [topic]);
      const total = committed.reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0);
      expect({ topic, total }).toEqual({ topic, total: count });
    }
    // Nothing was committed under the shared group name.
    const sharedGroup = await admin.fetchCommittedOffsets(`dt${run}ug-group`, [first, second]);
    expect(sharedGroup.every((entry) => entry.offset === "-1")).toBe(true);
  });
});
