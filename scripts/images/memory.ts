// `pnpm images memory`: the memory budgets proven in the built images at production volume. The consumer container
// (--memory 512m) drains a backlog of IMAGES_MEMORY_RECORDS (default 1,000,000) records over 32 partitions; it must
// index every one exactly once, stop with exit 0, and never be OOM-killed. The producer container (--memory 256m)
// takes the bursts of `pnpm bench memory`; every acknowledged log must be in Kafka. The cgroup's peak is reported.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type IndexedSeqs, indexedOnce, indexedSeqs } from "../../apps/consumer/src/testing/indexed.ts";
import { writeBacklog } from "../bench/memory-consumer.ts";
import { freePorts } from "../lib/ports.ts";
import { imageTag } from "./build.ts";
import { MEMORY_LIMITS } from "./checks.ts";
import {
  inspect,
  logsTail,
  mib,
  peakMemoryBytes,
  removeContainer,
  runContainer,
  sleep,
  stopContainer,
  waitHealthy,
} from "./containers.ts";
import { type Log, repoRoot } from "./engine.ts";

export interface MemoryResult {
  app: "consumer" | "producer";
  ok: boolean;
  detail: string;
}

const fromConsumer = createRequire(join(repoRoot, "apps/consumer/package.json"));

// The workspace's packages as this script uses them (it runs from source, outside the workspace's packages).
interface Admin {
  connect(): Promise<void>;
  close(): Promise<void>;
  createTopic(spec: { topic: string; partitions: number; replicationFactor: number }): Promise<unknown>;
  deleteTopics(topics: string[]): Promise<unknown>;
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string }>>;
}
interface Kafka {
  createKafkaAdmin(options: { brokers: string[]; clientId: string }): Admin;
}
const kafkaPackage = () => fromConsumer("@barito-flow/kafka") as Kafka;

export async function consumerMemoryCheck(log: Log): Promise<MemoryResult> {
  const records = Number(process.env.IMAGES_MEMORY_RECORDS ?? 1_000_000);
  const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
  const os = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
  const run = randomBytes(4).toString("hex");
  const prefix = `imgmem${run}_`;
  const indexPrefix = `imgmem${run}`;
  const name = `barito-images-memory-${run}-consumer`;
  log(`consumer: writing a backlog of ${records} records over 32 partitions`);
  const deleteTopic = await writeBacklog(`${prefix}app_logs`, indexPrefix, records);
  const [metricsPort] = await freePorts(1);
  try {
    const id = runContainer({
      name,
      image: imageTag("consumer"),
      memory: MEMORY_LIMITS.consumer,
      env: {
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_ELASTICSEARCH_URLS: os,
        BARITO_KAFKA_TOPIC_PREFIX: prefix,
        BARITO_KAFKA_GROUP_ID: `${prefix}group`,
        BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
        BARITO_CONSUMER_DLQ_TOPIC: `${prefix}dlq`,
        EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
        LOG_LEVEL: "warn",
      },
    });
    await waitHealthy(name, 60_000);
    const started = Date.now();
    let indexed: IndexedSeqs | undefined;
    for (;;) {
      indexed = await indexedSeqs(os, indexPrefix).catch(() => undefined);
      const count = indexed?.count ?? 0;
      const state = inspect(name);
      log(`consumer container: ${count}/${records} indexed, ${mib(peakMemoryBytes(id))} peak, ${state.status}`);
      if (count >= records || state.status !== "running" || Date.now() - started > 20 * 60_000) break;
      await sleep(5_000);
    }
    const seconds = (Date.now() - started) / 1000;
    // The cgroup goes with the container.
    const peak = peakMemoryBytes(id);
    const stop = stopContainer(name, 40);
    const count = indexed?.count ?? 0;
    const expected = indexedOnce(records);
    const once = count === expected.count && indexed?.seqSum === expected.seqSum;
    const ok = once && stop.exitCode === 0 && !stop.oomKilled;
    const detail =
      `${count}/${records} indexed ${once ? "exactly once" : "NOT exactly once"} in ${seconds.toFixed(0)} s ` +
      `(${(records / seconds).toFixed(0)} docs/s), cgroup peak ${mib(peak)} of ${MEMORY_LIMITS.consumer}, ` +
      `OOM-killed ${stop.oomKilled}, docker stop exit ${stop.exitCode} in ${stop.seconds.toFixed(1)} s`;
    if (!ok) log(logsTail(name, 30));
    return { app: "consumer", ok, detail };
  } finally {
    removeContainer(name);
    await deleteTopic();
    await fetch(`${os}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  }
}

/** `concurrency` requests in flight until `total` were made; counts the 200s and the rest. */
async function keepInFlight(concurrency: number, total: number, call: () => Promise<boolean>) {
  let started = 0;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        if (await call().catch(() => false)) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed };
}

export async function producerMemoryCheck(log: Log): Promise<MemoryResult> {
  const logsPerPhase = Number(process.env.IMAGES_MEMORY_RECORDS ?? 1_000_000);
  const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
  const run = randomBytes(4).toString("hex");
  const prefix = `imgmemp${run}_`;
  const name = `barito-images-memory-${run}-producer`;
  const [rest, grpc, metricsPort] = await freePorts(3);
  const admin = kafkaPackage().createKafkaAdmin({ brokers: [brokers], clientId: "images-memory-producer" });
  await admin.connect();
  const topic = `${prefix}shop_logs`;
  try {
    const id = runContainer({
      name,
      image: imageTag("producer"),
      memory: MEMORY_LIMITS.producer,
      env: {
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_KAFKA_TOPIC_PREFIX: prefix,
        BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
        BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
        BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
        EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
        LOG_LEVEL: "warn",
      },
    });
    await waitHealthy(name, 60_000);
    const filler = "lorem ipsum dolor sit amet ".repeat(15);
    const body = JSON.stringify({
      context: {
        kafka_topic: "shop",
        kafka_partition: 4,
        kafka_replication_factor: 1,
        es_index_prefix: "shop",
        app_max_tps: 100_000_000,
      },
      items: Array.from({ length: 1_000 }, (_, i) => ({ content: { message: `${filler}${i}`, level: "info", i } })),
    });
    let firstRefusal = "";
    const send = () =>
      fetch(`http://127.0.0.1:${rest}/produce_batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }).then(async (res) => {
        const text = await res.text();
        if (res.status !== 200 && !firstRefusal) firstRefusal = `${res.status} ${text.slice(0, 300)}`;
        return res.status === 200;
      });
    let acknowledged = 0;
    const phases: string[] = [];
    for (const concurrency of [16, 64]) {
      const started = Date.now();
      const outcome = await keepInFlight(concurrency, Math.ceil(logsPerPhase / 1_000), send);
      acknowledged += outcome.ok * 1_000;
      const seconds = (Date.now() - started) / 1000;
      phases.push(
        `${concurrency} × 1,000 logs: ${outcome.ok} ok, ${outcome.failed} not, ${((outcome.ok * 1_000) / seconds).toFixed(0)} logs/s, peak so far ${mib(peakMemoryBytes(id))}`,
      );
      log(`producer container: ${phases.at(-1)}`);
    }
    const peak = peakMemoryBytes(id);
    const stop = stopContainer(name, 40);
    if (firstRefusal) log(`producer container: first request not answered 200: ${firstRefusal}`);
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    const inKafka = offsets.reduce((sum, entry) => sum + Number(entry.high), 0);
    const ok = acknowledged > 0 && inKafka === acknowledged && stop.exitCode === 0 && !stop.oomKilled;
    const detail =
      `${phases.join("; ")}; ${acknowledged} acknowledged, ${inKafka} in Kafka; cgroup peak ${mib(peak)} of ` +
      `${MEMORY_LIMITS.producer}, OOM-killed ${stop.oomKilled}, docker stop exit ${stop.exitCode} in ${stop.seconds.toFixed(1)} s`;
    if (!ok) log(logsTail(name, 30));
    return { app: "producer", ok, detail };
  } finally {
    removeContainer(name);
    await admin.deleteTopics([topic, `${prefix}new_topic_events`]).catch(() => undefined);
    await admin.close();
  }
}
