// The built consumer killed with SIGKILL while it indexes, then started again: every record ends up indexed
// exactly once (uncommitted records are read again; deterministic ids make the replay overwrite itself).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { TimberSchema } from "@barito-flow/proto";
import { afterAll, describe, expect, it } from "@jest/globals";

const root = join(__dirname, "..", "..", "..");
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `crash${run}_`;
const topic = `${prefix}app_logs`;
const indexPattern = `crash${run}-*`;
const records = 20_000;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `crash-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `crash-writer-${run}` });
let child: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function startConsumer(): Promise<ChildProcess> {
  const port = await freePort();
  return spawn(process.execPath, [join(root, "apps/consumer/dist/main.js"), "consumer"], {
    env: {
      ...process.env,
      LOG_LEVEL: "error",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: opensearchUrl,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: `crash${run}`,
      BARITO_CONSUMER_DLQ_TOPIC: `crash${run}_dlq`,
      // Small bulks one at a time: 200 requests for the 20,000 records, so that the kill below lands mid-stream
      // however fast the machine (with 500 x 2 the whole topic was indexed between two polls).
      BARITO_ELASTICSEARCH_BULK_SIZE: "100",
      BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: "1",
      // The restarted member waits for the killed one to time out of the group: the broker's minimum, not 20 s.
      BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: "6s",
      BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "1s",
      EXPORTER_PORT: `127.0.0.1:${port}`,
    },
    stdio: "ignore",
  });
}

/** Documents OpenSearch acknowledged so far, without waiting for a refresh (a retried one counts twice). */
async function indexedOperations(): Promise<number> {
  const res = await fetch(`${opensearchUrl}/${indexPattern}/_stats/indexing`).catch(() => undefined);
  if (!res?.ok) return 0;
  const stats = (await res.json()) as { _all?: { primaries?: { indexing?: { index_total?: number } } } };
  return stats._all?.primaries?.indexing?.index_total ?? 0;
}

async function count(): Promise<number> {
  await fetch(`${opensearchUrl}/${indexPattern}/_refresh`, { method: "POST" }).catch(() => undefined);
  const res = await fetch(`${opensearchUrl}/${indexPattern}/_count`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as { count: number }).count : 0;
}

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await fetch(`${opensearchUrl}/${indexPattern}`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `crash${run}_dlq`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("consumer crash (real Kafka and OpenSearch)", () => {
  it("indexes every record exactly once across a SIGKILL and a restart", async () => {
    execFileSync("pnpm", ["turbo", "run", "build", "--filter=consumer...", "--output-logs=errors-only"], {
      cwd: root,
      stdio: "pipe",
    });
    await Promise.all([admin.connect(), writer.connect()]);
    await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
    for (let sent = 0; sent < records; sent += 2_000) {
      await writer.publish(
        topic,
        Array.from({ length: 2_000 }, (_, i) => ({
          key: String(sent + i),
          value: toBinary(
            TimberSchema,
            create(TimberSchema, {
              context: { kafkaTopic: "app", esIndexPrefix: `crash${run}`, appMaxTps: 1 },
              timestamp: "2026-05-06T07:08:09Z",
              content: { n: sent + i, message: "x".repeat(200) },
            }),
          ),
        })),
      );
    }

    child = await startConsumer();
    // Kill it mid-stream: some documents indexed, some offsets not committed yet.
    let indexed = 0;
    for (let i = 0; i < 2_400 && indexed < records / 10; i++) {
      await new Promise((r) => setTimeout(r, 25));
      indexed = await indexedOperations();
    }
    expect(indexed).toBeGreaterThan(0);
    expect(indexed).toBeLessThan(records);
    const killed = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGKILL");
    await killed;

    child = await startConsumer();
    for (let i = 0; i < 240 && indexed < records; i++) {
      await new Promise((r) => setTimeout(r, 500));
      indexed = await count();
    }
    expect(indexed).toBe(records);
    // Exactly once: no value of n is stored twice (ids are deterministic, so a replay overwrites itself).
    const res = await fetch(`${opensearchUrl}/${indexPattern}/_search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ size: 0, aggs: { twice: { terms: { field: "n", min_doc_count: 2, size: 10 } } } }),
    });
    const body = (await res.json()) as { aggregations: { twice: { buckets: unknown[] } } };
    expect(body.aggregations.twice.buckets).toEqual([]);
  }, 180_000);
});
