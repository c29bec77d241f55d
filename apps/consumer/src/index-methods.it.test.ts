// BARITO_ELASTICSEARCH_INDEX_METHOD=DataStream and SingleInsert on the real stack: documents land in the data stream
// `<es_index_prefix>` behind the template `<prefix>-template` (priority 200, composed of the configured component
// template), redelivery does not duplicate (create + 409 = success), and SingleInsert writes daily indices.
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
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `methods-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `methods-writer-${run}` });
const apps: ConsumerApp[] = [];
const topics: string[] = [];
const component = `im${run}-component`;

function startConsumer(name: string, env: Record<string, string>): ConsumerApp {
  const config = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearchUrl,
    BARITO_KAFKA_TOPIC_PREFIX: `im${run}${name}_`,
    BARITO_KAFKA_GROUP_ID: `im${run}${name}-group`,
    BARITO_NEW_TOPIC_EVENT: `im${run}${name}_events`,
    BARITO_CONSUMER_DLQ_TOPIC: `im${run}${name}_dlq`,
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
  await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
  topics.push(topic);
  const context = { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  await writer.publish(
    topic,
    Array.from({ length: count }, (_, i) => ({
      value: Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, { context, timestamp: "2026-09-10T11:12:13Z", content: { i } as never }),
        ),
      ),
    })),
  );
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${opensearchUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

async function count(target: string): Promise<number> {
  await fetch(`${opensearchUrl}/${target}/_refresh`, { method: "POST" });
  const { status, body } = await getJson<{ count: number }>(`/${target}/_count`);
  return status === 200 ? body.count : 0;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return condition();
}

beforeAll(async () => {
  await Promise.all([admin.connect(), writer.connect()]);
});

afterAll(async () => {
  for (const app of apps) await app.stop(5_000).catch(() => undefined);
  await fetch(`${opensearchUrl}/_data_stream/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearchUrl}/_index_template/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearchUrl}/_component_template/${component}`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearchUrl}/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("index methods (real Kafka and OpenSearch)", () => {
  it("DataStream: writes into the data stream behind barito's template, and a replay does not duplicate", async () => {
    const stream = `im${run}-stream`;
    await writeLogs(`im${run}ds_app_logs`, stream, 20);
    const env = {
      BARITO_ELASTICSEARCH_INDEX_METHOD: "DataStream",
      BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: component,
    };
    await startConsumer("ds", env).start();
    expect(await until(async () => (await count(stream)) === 20)).toBe(true);

    const dataStream = await getJson<{ data_streams: Array<{ name: string; template: string }> }>(
      `/_data_stream/${stream}`,
    );
    expect(dataStream.body.data_streams).toEqual([
      expect.objectContaining({ name: stream, template: `${stream}-template` }),
    ]);
    const template = await getJson<{
      index_templates: Array<{ index_template: { priority: number; composed_of: string[]; data_stream?: object } }>;
    }>(`/_index_template/${stream}-template`);
    expect(template.body.index_templates[0]?.index_template).toMatchObject({
      priority: 200,
      composed_of: [component],
      data_stream: expect.any(Object),
    });
    // The component template did not exist: an empty placeholder is created rather than failing every write.
    expect((await fetch(`${opensearchUrl}/_component_template/${component}`)).status).toBe(200);

    // Another group reads the same records again: create + 409 counts as done, nothing is added.
    const replay = startConsumer("ds", { ...env, BARITO_KAFKA_GROUP_ID: `im${run}ds-replay` });
    await replay.start();
    expect(await until(async () => replay.processed() >= 20)).toBe(true);
    expect(await count(stream)).toBe(20);
  });

  it("SingleInsert: one document per request into the daily index", async () => {
    const prefix = `im${run}-single`;
    await writeLogs(`im${run}si_app_logs`, prefix, 7);
    await startConsumer("si", { BARITO_ELASTICSEARCH_INDEX_METHOD: "SingleInsert" }).start();
    expect(await until(async () => (await count(`${prefix}-2026.09.10`)) === 7)).toBe(true);
  });
});
