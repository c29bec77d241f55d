// One topic whose documents cannot be indexed (every item answered 429 by a read-only index) must not hold up
// another topic, must not lose anything, and must finish on its own once OpenSearch accepts the documents again.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "@jest/globals";
import type { ConsumerApp } from "./app.js";
import { committedTotal, until } from "./testing/harness.js";
import { createStackConsumer, stackConfig } from "./testing/in-process.js";
import { documentCountOrThrow, kafkaClients, opensearch } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const prefix = `iso${run}_`;
const blockedIndex = `iso${run}-blocked-2026.03.04`;
const kafka = kafkaClients(`iso-${run}`);
const { admin, writer } = kafka;
let app: ConsumerApp | undefined;

function logs(count: number, indexPrefix: string) {
  const context = { kafkaTopic: "x", esIndexPrefix: indexPrefix, appMaxTps: 1 };
  return timberRecords(count, context, "2026-03-04T00:00:00Z", (i) => ({ i }));
}

// A failed count is not "no documents": the blocked index's 0 below must be an answer, not an error.
const count = documentCountOrThrow;

function setBlock(on: boolean) {
  return fetch(`${opensearch}/${blockedIndex}/_settings`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ "index.blocks.read_only_allow_delete": on ? true : null }),
  });
}

afterAll(async () => {
  await app?.stop(5_000);
  await setBlock(false).catch(() => undefined);
  await fetch(`${opensearch}/iso${run}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([`${prefix}blocked_logs`, `${prefix}open_logs`, `iso${run}_dlq`]).catch(() => undefined);
  await kafka.close();
});

describe("consumer isolation (real Kafka and OpenSearch)", () => {
  it("keeps indexing other topics while one topic's index refuses writes, then catches up without loss", async () => {
    await kafka.connect();
    await fetch(`${opensearch}/${blockedIndex}`, { method: "PUT" });
    expect((await setBlock(true)).ok).toBe(true);
    // More blocked partitions than the consumer processes at once: a design that waits inside the batch handler
    // would have every worker stuck on the blocked topic.
    await admin.createTopic({ topic: `${prefix}blocked_logs`, partitions: 6, replicationFactor: 1 });
    await admin.createTopic({ topic: `${prefix}open_logs`, partitions: 1, replicationFactor: 1 });

    const config = stackConfig({
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: `iso${run}`,
      BARITO_CONSUMER_DLQ_TOPIC: `iso${run}_dlq`,
    });
    app = createStackConsumer(config, { maxInFlightPerPartition: 20 });
    await app.start();

    await writer.publish(
      `${prefix}blocked_logs`,
      logs(200, `iso${run}-blocked`).map((record, i) => ({ key: String(i), ...record })),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await writer.publish(`${prefix}open_logs`, logs(50, `iso${run}-open`));

    expect(await until(async () => (await count(`iso${run}-open-*`)) === 50, 20_000)).toBe(true);
    expect(await count(blockedIndex)).toBe(0);
    expect(app.readiness().ready).toBe(true);

    expect((await setBlock(false)).ok).toBe(true);
    expect(await until(async () => (await count(blockedIndex)) === 200, 40_000)).toBe(true);

    // Every partition's committed position (next offset) adds up to the number of records written.
    const committed = (topic: string) => committedTotal(admin, `iso${run}`, topic);
    expect(await until(async () => (await committed(`${prefix}blocked_logs`)) === 200, 10_000)).toBe(true);
    expect(await committed(`${prefix}open_logs`)).toBe(50);
  });
});
