// The built consumer killed with SIGKILL while it indexes, then started again: every record ends up indexed
// exactly once (uncommitted records are read again; deterministic ids make the replay overwrite itself).
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "@jest/globals";
import { type ConsumerProcess, startStackConsumer } from "./testing/harness.js";
import { buildConsumer } from "./testing/process.js";
import { documentCount, kafkaClients, opensearch } from "./testing/stack.js";
import { timberRecords } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const prefix = `crash${run}_`;
const topic = `${prefix}app_logs`;
const indexPattern = `crash${run}-*`;
const records = 20_000;
const kafka = kafkaClients(`crash-${run}`);
const { admin, writer } = kafka;
let consumer: ConsumerProcess | undefined;

function startConsumer(): Promise<ConsumerProcess> {
  return startStackConsumer(`crash${run}`, {
    // Small bulks one at a time: 200 requests for the 20,000 records, so that the kill below lands mid-stream
    // however fast the machine (with 500 x 2 the whole topic was indexed between two polls).
    BARITO_ELASTICSEARCH_BULK_SIZE: "100",
    BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: "1",
    // The restarted member waits for the killed one to time out of the group: the broker's minimum, not 20 s.
    BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: "6s",
    BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "1s",
  });
}

/** Documents OpenSearch acknowledged so far, without waiting for a refresh (a retried one counts twice). */
async function indexedOperations(): Promise<number> {
  const res = await fetch(`${opensearch}/${indexPattern}/_stats/indexing`).catch(() => undefined);
  if (!res?.ok) return 0;
  const stats = (await res.json()) as { _all?: { primaries?: { indexing?: { index_total?: number } } } };
  return stats._all?.primaries?.indexing?.index_total ?? 0;
}

afterAll(async () => {
  await consumer?.stop(15_000);
  await fetch(`${opensearch}/${indexPattern}`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `crash${run}_dlq`]).catch(() => undefined);
  await kafka.close();
});

describe("consumer crash (real Kafka and OpenSearch)", () => {
  it("indexes every record exactly once across a SIGKILL and a restart", async () => {
    buildConsumer();
    await kafka.connect();
    await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
    for (let sent = 0; sent < records; sent += 2_000) {
      const context = { kafkaTopic: "app", esIndexPrefix: `crash${run}`, appMaxTps: 1 };
      const batch = timberRecords(2_000, context, "2026-05-06T07:08:09Z", (i) => ({
        n: sent + i,
        message: "x".repeat(200),
      }));
      await writer.publish(
        topic,
        batch.map((record, i) => ({ key: String(sent + i), ...record })),
      );
    }

    consumer = await startConsumer();
    // Kill it mid-stream: some documents indexed, some offsets not committed yet.
    let indexed = 0;
    for (let i = 0; i < 2_400 && indexed < records / 10; i++) {
      await new Promise((r) => setTimeout(r, 25));
      indexed = await indexedOperations();
    }
    expect(indexed).toBeGreaterThan(0);
    expect(indexed).toBeLessThan(records);
    consumer.signal("SIGKILL");
    await consumer.exited(30_000);

    consumer = await startConsumer();
    for (let i = 0; i < 240 && indexed < records; i++) {
      await new Promise((r) => setTimeout(r, 500));
      indexed = await documentCount(indexPattern);
    }
    expect(indexed).toBe(records);
    // Exactly once: no value of n is stored twice (ids are deterministic, so a replay overwrites itself).
    const res = await fetch(`${opensearch}/${indexPattern}/_search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ size: 0, aggs: { twice: { terms: { field: "n", min_doc_count: 2, size: 10 } } } }),
    });
    const body = (await res.json()) as { aggregations: { twice: { buckets: unknown[] } } };
    expect(body.aggregations.twice.buckets).toEqual([]);
  }, 180_000);
});
