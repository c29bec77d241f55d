// OpenSearch going away mid-stream and coming back: the consumer neither crashes nor stops for good, reports
// itself degraded meanwhile, commits nothing that is not indexed, and indexes every record exactly once after the
// outage. The outage is a TCP forwarder in front of the shared OpenSearch being closed (connections reset, new ones
// refused), which is what a stopped node looks like from the client, without stopping the server other suites use;
// `pnpm chaos` stops the real process on a private stack.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { ConsumerApp } from "./app.js";
import { committedTotal, createForwarder, until } from "./testing/harness.js";
import { createStackConsumer, stackConfig } from "./testing/in-process.js";
import { kafkaClients, opensearch, opensearchUrl } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const topic = `out${run}_app_logs`;
const indexPrefix = `out${run}-app`;
const groupId = `out${run}-group`;
const kafka = kafkaClients(`outage-${run}`);
const { admin, writer } = kafka;
let app: ConsumerApp | undefined;

const forwarder = createForwarder({ host: opensearchUrl.hostname, port: Number(opensearchUrl.port) });

function writeLogs(from: number, count: number): Promise<void> {
  const context = { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  return writer.publish(
    topic,
    timberRecords(count, context, "2026-07-08T09:10:11Z", (k) => ({ seq: from + k })),
  );
}

async function stats(): Promise<{ count: number; distinct: number }> {
  const base = `${opensearch}/${indexPrefix}-*`;
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

const committed = () => committedTotal(admin, groupId, topic);

beforeAll(async () => {
  await Promise.all([kafka.connect(), forwarder.up()]);
  await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
});

afterAll(async () => {
  await app?.stop(5_000).catch(() => undefined);
  await forwarder.down();
  await fetch(`${opensearch}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `out${run}_dlq`, `out${run}_events`]).catch(() => undefined);
  await kafka.close();
});

describe("consumer through an OpenSearch outage (real Kafka and OpenSearch)", () => {
  it("degrades, commits nothing unindexed, and indexes every record exactly once after OpenSearch returns", async () => {
    const config = stackConfig({
      BARITO_ELASTICSEARCH_URLS: `http://127.0.0.1:${forwarder.port}`,
      BARITO_KAFKA_TOPIC_PREFIX: `out${run}_`,
      BARITO_KAFKA_GROUP_ID: groupId,
      BARITO_CONSUMER_DLQ_TOPIC: `out${run}_dlq`,
      BARITO_NEW_TOPIC_EVENT: `out${run}_events`,
      BARITO_ELASTICSEARCH_BULK_SIZE: "200",
    });
    app = createStackConsumer(config);
    await app.start();
    const consumer = app;

    await writeLogs(0, 1_000);
    expect(await until(async () => (await stats()).count === 1_000, 30_000)).toBe(true);
    expect(await until(async () => (await committed()) === 1_000, 10_000)).toBe(true);

    await forwarder.down();
    await writeLogs(1_000, 1_000);
    // Bulk requests fail while it is down; readiness says so instead of the process dying or giving up.
    expect(await until(() => !consumer.readiness().ready, 30_000)).toBe(true);
    expect(consumer.readiness().checks.opensearch).toBe("degraded");
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    // Nothing beyond what OpenSearch acknowledged is committed during the outage.
    expect(await committed()).toBe(1_000);

    await forwarder.up();
    await writeLogs(2_000, 1_000);
    expect(await until(async () => (await stats()).count >= 3_000, 60_000)).toBe(true);
    expect(await stats()).toEqual({ count: 3_000, distinct: 3_000 });
    expect(await until(() => consumer.readiness().ready, 15_000)).toBe(true);
    expect(await until(async () => (await committed()) === 3_000, 15_000)).toBe(true);
  });
});
