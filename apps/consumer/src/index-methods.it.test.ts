// BARITO_ELASTICSEARCH_INDEX_METHOD=DataStream and SingleInsert on the real stack: documents land in the data stream
// `<es_index_prefix>` behind the template `<prefix>-template` (priority 200, composed of the configured component
// template), redelivery does not duplicate (create + 409 = success), and SingleInsert writes daily indices.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { until } from "./testing/wait.js";
import { consumerFleet } from "./testing/in-process.js";
import { documentCount, kafkaClients, opensearch } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const kafka = kafkaClients(`methods-${run}`);
const { admin, writer } = kafka;
const consumers = consumerFleet(`im${run}`);
const topics = consumers.topics;
const component = `im${run}-component`;

async function writeLogs(topic: string, indexPrefix: string, count: number): Promise<void> {
  await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
  topics.push(topic);
  const context = { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  await writer.publish(
    topic,
    timberRecords(count, context, "2026-09-10T11:12:13Z", (i) => ({ i })),
  );
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${opensearch}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  await kafka.connect();
});

afterAll(async () => {
  await consumers.stop();
  await fetch(`${opensearch}/_data_stream/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearch}/_index_template/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearch}/_component_template/${component}`, { method: "DELETE" }).catch(() => undefined);
  await fetch(`${opensearch}/im${run}*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  await kafka.close();
});

describe("index methods (real Kafka and OpenSearch)", () => {
  it("DataStream: writes into the data stream behind barito's template, and a replay does not duplicate", async () => {
    const stream = `im${run}-stream`;
    await writeLogs(`im${run}ds_app_logs`, stream, 20);
    const env = {
      BARITO_ELASTICSEARCH_INDEX_METHOD: "DataStream",
      BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: component,
    };
    await consumers.create("ds", env).start();
    expect(await until(async () => (await documentCount(stream)) === 20, 30_000)).toBe(true);

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
    expect((await fetch(`${opensearch}/_component_template/${component}`)).status).toBe(200);

    // Another group reads the same records again: create + 409 counts as done, nothing is added.
    const replay = consumers.create("ds", { ...env, BARITO_KAFKA_GROUP_ID: `im${run}ds-replay` });
    await replay.start();
    expect(await until(async () => replay.processed() >= 20, 30_000)).toBe(true);
    expect(await documentCount(stream)).toBe(20);
  });

  it("SingleInsert: one document per request into the daily index", async () => {
    const prefix = `im${run}-single`;
    await writeLogs(`im${run}si_app_logs`, prefix, 7);
    await consumers.create("si", { BARITO_ELASTICSEARCH_INDEX_METHOD: "SingleInsert" }).start();
    expect(await until(async () => (await documentCount(`${prefix}-2026.09.10`)) === 7, 30_000)).toBe(true);
  });
});
