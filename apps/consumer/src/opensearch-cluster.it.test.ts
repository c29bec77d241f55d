// The consumer on a real cluster of its own (`stack up --cluster` on a private directory and port block: 3 Kafka
// brokers, 2 OpenSearch nodes with a replica per shard): bulks go to both OpenSearch nodes, opensearch-2 SIGKILLed
// in the middle of a drain costs nothing (every record indexed exactly once, nothing dead-lettered), and a second
// consumer joining and leaving the group keeps commit-after-ack. Opt-in (CLUSTER_TESTS=1, `pnpm test:cluster`).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { PrivateCluster, PrivateClusterModule } from "../../../scripts/stack/private-cluster-api.js";
import { createConsumerAdapters } from "./adapters.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";
import { loadConsumerConfig } from "./config.js";
import { committedTotal, indexedOnce, until, writeLogs } from "./testing/harness.js";
import { indexedSeqs } from "./testing/indexed.js";

const run = randomUUID().slice(0, 8);
const topicPrefix = `itoc${run}_`;
const topic = `${topicPrefix}app_logs`;
const indexPrefix = `itoc${run}-app`;
const groupId = `itoc${run}-group`;
const dlqTopic = `${topicPrefix}dlq`;

// scripts/ is outside this package's TypeScript project: loaded at run time (Jest transforms it), typed by its .d.ts.
const stack = require(join(__dirname, "../../../scripts/stack/private-cluster.ts")) as PrivateClusterModule;
let cluster: PrivateCluster;
let admin: ReturnType<typeof createKafkaAdmin>;
let writer: ReturnType<typeof createKafkaPublisher>;
const apps: ConsumerApp[] = [];

function startConsumer(): Promise<ConsumerApp> {
  const config = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: cluster.brokers.join(","),
    BARITO_ELASTICSEARCH_URLS: cluster.opensearchUrls.join(","),
    BARITO_KAFKA_TOPIC_PREFIX: topicPrefix,
    BARITO_KAFKA_GROUP_ID: groupId,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
    BARITO_NEW_TOPIC_EVENT: `${topicPrefix}events`,
    BARITO_ELASTICSEARCH_BULK_SIZE: "500",
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
    LOG_LEVEL: "silent",
  });
  expect(config.opensearch.urls).toEqual(cluster.opensearchUrls);
  const app = createConsumerApp({ config, logger: noopLogger, ...createConsumerAdapters(config, noopLogger) });
  apps.push(app);
  return app.start().then(() => app);
}

const indexed = () => indexedSeqs(cluster.opensearchUrls[0] as string, indexPrefix);

/** HTTP connections each OpenSearch node has accepted so far, by node name. */
async function connectionsByNode(): Promise<Record<string, number>> {
  const res = await fetch(`${cluster.opensearchUrls[0]}/_nodes/stats/http`);
  const body = (await res.json()) as { nodes: Record<string, { name: string; http: { total_opened: number } }> };
  return Object.fromEntries(Object.values(body.nodes).map((node) => [node.name, node.http.total_opened]));
}

async function dlqRecords(): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(dlqTopic).catch(() => []);
  return offsets.reduce((sum, { low, high }) => sum + Number(high) - Number(low), 0);
}

stack.describeCluster("consumer on a 2-node OpenSearch cluster and 3 Kafka brokers", () => {
  beforeAll(async () => {
    const booted = Date.now();
    cluster = await stack.startPrivateCluster();
    console.info(`private cluster up in ${Date.now() - booted} ms`);
    admin = createKafkaAdmin({ brokers: [...cluster.brokers], clientId: `oscluster-${run}` });
    writer = createKafkaPublisher({ brokers: [...cluster.brokers], clientId: `oscluster-writer-${run}` });
    await Promise.all([admin.connect(), writer.connect()]);
    await admin.createTopic({ topic, partitions: 6, replicationFactor: 3 });
  }, 300_000);

  afterAll(async () => {
    for (const app of apps) await app.stop(5_000).catch(() => undefined);
    await Promise.allSettled([admin?.close(), writer?.close()]);
    await cluster?.down();
  }, 120_000);

  it("indexes everything exactly once when opensearch-2 is SIGKILLed during a drain, and dead-letters nothing", async () => {
    const total = 40_000;
    await writeLogs(writer, topic, indexPrefix, 0, total);
    const connectionsBefore = await connectionsByNode();
    const startedAt = Date.now();
    await startConsumer();
    expect(await until(async () => (await indexed()).count >= total / 4, 120_000, 250)).toBe(true);
    const opened = await connectionsByNode();
    // Both nodes took bulks (more connections than the stats request itself opens).
    for (const [node, count] of Object.entries(opened)) {
      expect(count - (connectionsBefore[node] ?? 0)).toBeGreaterThanOrEqual(1);
    }
    const atKill = (await indexed()).count;
    const killedAt = Date.now();
    await cluster.stop("opensearch-2", { force: true });
    expect(await until(async () => (await indexed()).count >= total, 180_000, 500)).toBe(true);
    const drainedAt = Date.now();
    expect(await indexed()).toEqual(indexedOnce(total));
    expect(await until(async () => (await committedTotal(admin, groupId, topic)) === total, 30_000)).toBe(true);
    expect(await dlqRecords()).toBe(0);
    console.info(
      `drain of ${total}: ${atKill} indexed when opensearch-2 was killed ${killedAt - startedAt} ms in, ` +
        `the rest ${drainedAt - killedAt} ms later on opensearch-1 alone`,
    );
    const restartedAt = Date.now();
    await cluster.start("opensearch-2");
    console.info(`opensearch-2 back in ${Date.now() - restartedAt} ms`);
  }, 420_000);

  it("keeps commit-after-ack while a second consumer joins the group and leaves it under traffic", async () => {
    const from = 40_000;
    const more = 30_000;
    const writing = (async () => {
      for (let sent = 0; sent < more; sent += 5_000) {
        await writeLogs(writer, topic, indexPrefix, from + sent, 5_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const second = await startConsumer();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await second.stop(10_000);
    await writing;
    const total = from + more;
    expect(await until(async () => (await indexed()).count >= total, 180_000, 500)).toBe(true);
    expect(await indexed()).toEqual(indexedOnce(total));
    expect(await until(async () => (await committedTotal(admin, groupId, topic)) === total, 30_000)).toBe(true);
    expect(await dlqRecords()).toBe(0);
  }, 300_000);
});
