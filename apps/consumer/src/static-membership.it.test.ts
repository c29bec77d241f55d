// BARITO_CONSUMER_GROUP_INSTANCE_ID (static membership) on the real stack: the built consumer killed with SIGKILL
// and started again with the same instance id takes its partitions back at once, instead of waiting for the
// group session timeout (60 s here) that an anonymous member's partitions stay locked for.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { TimberSchema } from "@barito-flow/proto";
import { afterAll, describe, expect, it } from "@jest/globals";

const root = join(__dirname, "..", "..", "..");
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const topic = `static${run}_app_logs`;
const indexPattern = `static${run}-*`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `static-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `static-writer-${run}` });
let child: ChildProcess | undefined;

function startConsumer(): ChildProcess {
  return spawn(process.execPath, [join(root, "apps/consumer/dist/main.js"), "consumer"], {
    env: {
      ...process.env,
      LOG_LEVEL: "error",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: opensearchUrl,
      BARITO_KAFKA_TOPIC_PREFIX: `static${run}_`,
      BARITO_KAFKA_GROUP_ID: `static${run}`,
      BARITO_CONSUMER_GROUP_INSTANCE_ID: `static${run}-replica-0`,
      BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: "60s",
      BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "3s",
      BARITO_CONSUMER_DLQ_TOPIC: `static${run}_dlq`,
      BARITO_NEW_TOPIC_EVENT: `static${run}_events`,
      BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
      EXPORTER_PORT: "127.0.0.1:0",
    },
    stdio: "ignore",
  });
}

async function writeLogs(from: number, count: number): Promise<void> {
  await writer.publish(
    topic,
    Array.from({ length: count }, (_, i) => ({
      value: Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, {
            context: { kafkaTopic: "app", esIndexPrefix: `static${run}`, appMaxTps: 1 },
            timestamp: "2026-05-06T07:08:09Z",
            content: { n: from + i } as never,
          }),
        ),
      ),
    })),
  );
}

async function count(): Promise<number> {
  await fetch(`${opensearchUrl}/${indexPattern}/_refresh`, { method: "POST" }).catch(() => undefined);
  const res = await fetch(`${opensearchUrl}/${indexPattern}/_count`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as { count: number }).count : 0;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return condition();
}

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await fetch(`${opensearchUrl}/${indexPattern}`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, `static${run}_dlq`, `static${run}_events`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

describe("static group membership (real Kafka and OpenSearch)", () => {
  it("a replica restarted after SIGKILL with the same instance id resumes well before the session timeout", async () => {
    execFileSync("pnpm", ["turbo", "run", "build", "--filter=consumer...", "--output-logs=errors-only"], {
      cwd: root,
      stdio: "pipe",
    });
    await Promise.all([admin.connect(), writer.connect()]);
    await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 });
    await writeLogs(0, 50);
    child = startConsumer();
    expect(await until(async () => (await count()) === 50, 30_000)).toBe(true);

    const killed = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGKILL");
    await killed;
    child = startConsumer();
    const restartedAt = Date.now();
    await writeLogs(50, 50);
    // An anonymous member's partitions would stay with the dead member for the 60 s session timeout.
    expect(await until(async () => (await count()) === 100, 25_000)).toBe(true);
    expect(Date.now() - restartedAt).toBeLessThan(25_000);
  }, 120_000);
});
