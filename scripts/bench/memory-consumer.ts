// The consumer's section of `pnpm bench memory` (memory.ts): the built consumer with default settings draining a
// backlog of BENCH_MEMORY_LOGS records (default 1,000,000, ~500 B, 32 partitions) into the local OpenSearch; peak RSS
// while idle, while draining, and after. The backlog is written before the consumer starts, so the drain is what a
// consumer that was down (or a new group) meets.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort } from "../lib/ports.ts";
import { brokers, measurePeak, mb, type PhaseResult, root, type Section, sleep, step } from "./memory.ts";

const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";

/** Index operations acknowledged on `pattern` (an overwrite counts as one). */
async function indexOperations(pattern: string): Promise<number> {
  const res = await fetch(`${opensearch}/${pattern}/_stats/indexing?filter_path=_all.primaries.indexing.index_total`);
  if (!res.ok) return 0;
  const body = (await res.json()) as { _all?: { primaries?: { indexing?: { index_total?: number } } } };
  return body._all?.primaries?.indexing?.index_total ?? 0;
}

// The workspace packages as this script uses them (it runs from source, outside the packages' type resolution).
interface Protobuf {
  create(schema: unknown, init: unknown): unknown;
  toBinary(schema: unknown, message: unknown): Uint8Array;
}
interface Kafka {
  createKafkaAdmin(options: { brokers: string[]; clientId: string }): {
    connect(): Promise<void>;
    close(): Promise<void>;
    createTopic(spec: { topic: string; partitions: number; replicationFactor: number }): Promise<unknown>;
    deleteTopics(topics: string[]): Promise<unknown>;
  };
  createKafkaPublisher(options: { brokers: string[]; clientId: string }): {
    connect(): Promise<void>;
    close(): Promise<void>;
    publish(topic: string, records: Array<{ key: string; value: Uint8Array }>): Promise<unknown>;
  };
}

/**
 * Writes `records` Timber records (content `seq` 0..records-1, ~500 B) over 32 partitions of a new topic; resolves
 * with what deletes the topic again.
 */
export async function writeBacklog(topic: string, indexPrefix: string, records: number): Promise<() => Promise<void>> {
  const fromConsumer = createRequire(join(root, "apps/consumer/package.json"));
  const { create, toBinary } = fromConsumer("@bufbuild/protobuf") as Protobuf;
  const proto = fromConsumer("@barito-flow/proto") as { TimberSchema: unknown };
  const kafka = fromConsumer("@barito-flow/kafka") as Kafka;
  const admin = kafka.createKafkaAdmin({ brokers: [brokers], clientId: "bench-memory" });
  const writer = kafka.createKafkaPublisher({ brokers: [brokers], clientId: "bench-memory-writer" });
  await Promise.all([admin.connect(), writer.connect()]);
  try {
    await admin.createTopic({ topic, partitions: 32, replicationFactor: 1 });
    const context = { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 1 };
    const message = `GET /api/v1/orders 200 ${"lorem ipsum dolor sit amet ".repeat(15)}`;
    for (let sent = 0; sent < records; sent += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, records - sent) }, (_, k) => ({
        key: String(sent + k),
        value: toBinary(
          proto.TimberSchema,
          create(proto.TimberSchema, {
            context,
            timestamp: "2026-01-01T00:00:00Z",
            content: { seq: sent + k, message, level: "info", trace_id: randomUUID() } as never,
          }),
        ),
      }));
      await writer.publish(topic, batch);
      if ((sent / 5_000) % 40 === 0) step(`consumer backlog: ${sent}/${records}`);
    }
  } finally {
    await writer.close().catch(() => undefined);
  }
  return async () => {
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.close();
  };
}

export async function consumerMemory(
  tree: string,
  build: string,
  extraEnv: Record<string, string> = {},
): Promise<Section> {
  const records = Number(process.env.BENCH_MEMORY_LOGS ?? 1_000_000);
  const run = randomUUID().slice(0, 6);
  const prefix = `memc${run}_`;
  const indexPrefix = `memc${run}`;
  step(`consumer (${build}): writing a backlog of ${records} records over 32 partitions`);
  const deleteBacklog = await writeBacklog(`${prefix}app_logs`, indexPrefix, records);
  const metrics = await freePort();
  const consumer: ChildProcess = spawn(process.execPath, [join(tree, "apps/consumer/dist/main.js"), "consumer"], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: opensearch,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: `${prefix}group`,
      BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
      BARITO_CONSUMER_DLQ_TOPIC: `${prefix}dlq`,
      EXPORTER_PORT: `127.0.0.1:${metrics}`,
      ...extraEnv,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const pid = consumer.pid as number;
  const phases: PhaseResult[] = [];
  const pattern = `${indexPrefix}-*`;
  try {
    const idle = await measurePeak(pid, async () => {
      for (let i = 0; ; i++) {
        const ready = await fetch(`http://127.0.0.1:${metrics}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ready) break;
        if (i === 150) throw new Error(`${build}: the consumer did not become ready within 30 s`);
        await sleep(200);
      }
    });
    phases.push({ phase: "start (until ready)", peakRssMb: mb(idle.peakKb), endRssMb: mb(idle.endKb) });
    const drain = await measurePeak(pid, async () => {
      const started = performance.now();
      let last = 0;
      while ((await indexOperations(pattern)) < records) {
        if (consumer.exitCode !== null || consumer.signalCode !== null) return { died: true, seconds: 0 };
        if (performance.now() - last > 5_000) {
          last = performance.now();
          step(`consumer (${build}): ${await indexOperations(pattern)}/${records} indexed`);
        }
        await sleep(250);
      }
      return { died: false, seconds: (performance.now() - started) / 1000 };
    });
    phases.push({
      phase: `drain ${records} records, 32 partitions`,
      peakRssMb: mb(drain.peakKb),
      endRssMb: mb(drain.endKb),
      seconds: drain.value.seconds,
      ok: records,
      logsPerSecond: drain.value.seconds > 0 ? records / drain.value.seconds : 0,
      ...(drain.value.died ? { died: String(consumer.exitCode ?? consumer.signalCode) } : {}),
    });
    const after = await measurePeak(pid, () => sleep(5_000));
    phases.push({ phase: "after (5 s quiet; RSS at its end)", peakRssMb: mb(after.peakKb), endRssMb: mb(after.endKb) });
  } finally {
    if (consumer.exitCode === null && consumer.signalCode === null) {
      const exited = new Promise((resolve) => consumer.once("exit", resolve));
      consumer.kill("SIGTERM");
      await exited;
    }
    await fetch(`${opensearch}/${pattern}`, { method: "DELETE" }).catch(() => undefined);
    await deleteBacklog();
  }
  return { app: "consumer", build, phases };
}
