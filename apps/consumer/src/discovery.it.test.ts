// Topic discovery on the real stack: a topic created after the consumer started is consumed after its
// announcement on the new-topic event topic (with the rescan far away), or by the rescan alone when nobody
// announced it; BARITO_KAFKA_UNIQUE_GROUP_ID gives each topic a group of its own, as barito-flow does.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { committedTotal, until } from "./testing/harness.js";
import { consumerFleet } from "./testing/in-process.js";
import { documentCount, kafkaClients, opensearch } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const kafka = kafkaClients(`discovery-it-${run}`);
const { admin, writer } = kafka;
const consumers = consumerFleet(`dt${run}`);
const topics = consumers.topics;

function writeLogs(topic: string, indexPrefix: string, count: number): Promise<void> {
  const context = { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  return writer.publish(
    topic,
    timberRecords(count, context, "2026-05-06T07:08:09Z", (i) => ({ i })),
  );
}

async function createLogTopic(name: string, partitions = 2): Promise<string> {
  await admin.createTopic({ topic: name, partitions, replicationFactor: 1 });
  topics.push(name);
  return name;
}

beforeAll(async () => {
  await kafka.connect();
});

afterAll(async () => {
  await consumers.stop();
  await fetch(`${opensearch}/dt${run}*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  await kafka.close();
});

describe("topic discovery (real Kafka and OpenSearch)", () => {
  it("consumes a new topic within seconds of its announcement, long before the rescan", async () => {
    const app = consumers.create("ev", { BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "10m" });
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
    const found = await until(async () => {
      if ((await documentCount(`${indexPrefix}-*`)) === 5) return true;
      if (Date.now() >= nextAnnouncement) {
        nextAnnouncement = Date.now() + 2_000;
        await announce();
      }
      return false;
    }, 30_000);
    expect(found).toBe(true);
    expect(Date.now() - announcedAt).toBeLessThan(30_000);
  });

  it("finds a topic nobody announced at the next rescan", async () => {
    const app = consumers.create("rs", { BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s" });
    await app.start();
    const topic = await createLogTopic(`dt${run}rs_billing_logs`);
    const indexPrefix = `dt${run}rs-billing`;
    await writeLogs(topic, indexPrefix, 4);
    expect(await until(async () => (await documentCount(`${indexPrefix}-*`)) === 4, 30_000)).toBe(true);
  });

  it("BARITO_KAFKA_UNIQUE_GROUP_ID: one group <group>_<topic> per topic, each committing its own offsets", async () => {
    const first = await createLogTopic(`dt${run}ug_a_logs`, 2);
    await writeLogs(first, `dt${run}ug-a`, 6);
    const app = consumers.create("ug", {
      BARITO_KAFKA_UNIQUE_GROUP_ID: "true",
      BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
    });
    await app.start();
    // A topic appearing later gets its own group too.
    const second = await createLogTopic(`dt${run}ug_b_logs`, 1);
    await writeLogs(second, `dt${run}ug-b`, 3);
    expect(await until(async () => (await documentCount(`dt${run}ug-a-*`)) === 6, 30_000)).toBe(true);
    expect(await until(async () => (await documentCount(`dt${run}ug-b-*`)) === 3, 30_000)).toBe(true);
    await app.stop(10_000);

    for (const [topic, count] of [
      [first, 6],
      [second, 3],
    ] as const) {
      const total = await committedTotal(admin, `dt${run}ug-group_${topic}`, topic);
      expect({ topic, total }).toEqual({ topic, total: count });
    }
    // Nothing was committed under the shared group name.
    const sharedGroup = await admin.fetchCommittedOffsets(`dt${run}ug-group`, [first, second]);
    expect(sharedGroup.every((entry) => entry.offset === "-1")).toBe(true);
  });
});
