// BARITO_CONSUMER_GROUP_INSTANCE_ID (static membership) on the real stack: the built consumer killed with SIGKILL
// and started again with the same instance id takes its partitions back at once, instead of waiting for the
// group session timeout (60 s here) that an anonymous member's partitions stay locked for.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "@jest/globals";
import { type ConsumerProcess, startStackConsumer, until } from "./testing/harness.js";
import { buildConsumer } from "./testing/process.js";
import { documentCount, kafkaClients, opensearch } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const topic = `static${run}_app_logs`;
const indexPattern = `static${run}-*`;
const kafka = kafkaClients(`static-${run}`);
const { admin, writer } = kafka;
let consumer: ConsumerProcess | undefined;

function startConsumer(): Promise<ConsumerProcess> {
  return startStackConsumer(`static${run}`, {
    BARITO_CONSUMER_GROUP_INSTANCE_ID: `static${run}-replica-0`,
    BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: "60s",
    BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "3s",
    BARITO_NEW_TOPIC_EVENT: `static${run}_events`,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
  });
}

function writeLogs(from: number, count: number): Promise<void> {
  const context = { kafkaTopic: "app", esIndexPrefix: `static${run}`, appMaxTps: 1 };
  return writer.publish(
    topic,
    timberRecords(count, context, "2026-05-06T07:08:09Z", (i) => ({ n: from + i })),
  );
}

const count = () => documentCount(indexPattern);

afterAll(async () => {
  await consumer?.stop(15_000);
  await fetch(`${opensearch}/${indexPattern}`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `static${run}_dlq`, `static${run}_events`]).catch(() => undefined);
  await kafka.close();
});

describe("static group membership (real Kafka and OpenSearch)", () => {
  it("a replica restarted after SIGKILL with the same instance id resumes well before the session timeout", async () => {
    buildConsumer();
    await kafka.connect();
    await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
    await writeLogs(0, 50);
    consumer = await startConsumer();
    expect(await until(async () => (await count()) === 50, 30_000)).toBe(true);

    consumer.signal("SIGKILL");
    await consumer.exited(30_000);
    consumer = await startConsumer();
    const restartedAt = Date.now();
    await writeLogs(50, 50);
    // An anonymous member's partitions would stay with the dead member for the 60 s session timeout.
    expect(await until(async () => (await count()) === 100, 25_000)).toBe(true);
    expect(Date.now() - restartedAt).toBeLessThan(25_000);
  }, 120_000);
});
