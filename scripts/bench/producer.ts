// `pnpm bench producer`: throughput of the producer against the real local Kafka, next to kcat writing records of
// the same size straight to Kafka. Bounded: each scenario runs for BENCH_SECONDS (default 10) on loopback.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib/ports.ts";
import { withCpu } from "./cpu.ts";
import { drive, driveGrpcRaw, driveGrpcWithH2load, driveWithWrk, installed, type Result } from "./drivers.ts";
import { produceBatchFrame } from "./grpc-produce.ts";
import { brokers, build, concurrency, ensureStack, root, run, seconds, step } from "./settings.ts";
import { benchContext, content } from "./workload.ts";

export const logsPerBatch = 100;
// The producer's librdkafka settings (packages/kafka publisherProperties with the producer's defaults), given to kcat
// too so that the baseline batches and compresses the same way.
const kcatSettings = [
  "compression.codec=zstd",
  "acks=all",
  "enable.idempotence=true",
  "max.in.flight.requests.per.connection=5",
  "linger.ms=5",
  "batch.size=1000000",
];

const context = benchContext(`bench${run}`, "bench");
export const batchBody = JSON.stringify({
  context,
  items: Array.from({ length: logsPerBatch }, (_, i) => ({ content: content(i) })),
});
const singleBody = JSON.stringify({ context, content: content(0) });

/** A producer process for the benchmark: its ports, and a readiness wait on its (cleartext) metrics port. */
export async function startProducer(extraEnv: Record<string, string> = {}) {
  const [rest, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  // BENCH_PRODUCER_NODE_ARGS: extra node flags for the producer (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const producerNodeArgs = (process.env.BENCH_PRODUCER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_PRODUCER_WORKERS: the producer's BARITO_PRODUCER_WORKERS (default 1, as the producer's; on two cores
  // shared with Kafka and the load generator, `auto` measured 10-20% slower).
  const workers = process.env.BENCH_PRODUCER_WORKERS ?? "1";
  const child: ChildProcess = spawn(
    process.execPath,
    [...producerNodeArgs, join(root, "apps/producer/dist/main.js"), "producer"],
    {
      env: {
        ...process.env,
        NODE_ENV: "production",
        LOG_LEVEL: "warn",
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_KAFKA_TOPIC_PREFIX: `bench${run}_`,
        BARITO_PRODUCER_WORKERS: workers,
        BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
        BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
        EXPORTER_PORT: `127.0.0.1:${metrics}`,
        ...extraEnv,
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  let ready = false;
  for (let i = 0; i < 100 && !ready; i++) {
    ready =
      // The metrics port answers for the whole producer (every worker ready, with BARITO_PRODUCER_WORKERS > 1).
      (await fetch(`http://127.0.0.1:${metrics}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) === 200;
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  if (!ready) {
    child.kill("SIGTERM");
    // Measuring a producer that cannot reach Kafka would only count errors.
    throw new Error("the producer did not become ready within 20 s (see its log above)");
  }
  return { child, rest, grpc, metrics, workers };
}

/** The ProduceBatch gRPC frame of the REST batch body (zstd, as barito-router sends it). */
export function grpcBatchFrame(): Buffer {
  const requireFromProducer = createRequire(join(root, "apps/producer/package.json"));
  const { fromJson, toBinary } = requireFromProducer("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
  const proto = requireFromProducer("@barito-flow/proto") as typeof import("@barito-flow/proto");
  return produceBatchFrame(
    toBinary(proto.TimberCollectionSchema, fromJson(proto.TimberCollectionSchema, JSON.parse(batchBody))),
  );
}

export async function benchProducer() {
  // BENCH_TLS=1: the same REST and gRPC scenarios over TLS next to cleartext, in alternating rounds (producer-tls.ts).
  if (process.env.BENCH_TLS === "1") return (await import("./producer-tls.ts")).benchProducerTls();
  ensureStack("kafka");
  build("producer");

  // BENCH_SCENARIOS: which of rest,grpc,single to run (default all).
  const scenarios = new Set((process.env.BENCH_SCENARIOS ?? "rest,grpc,single").split(","));
  const { child: producer, rest, grpc, metrics, workers } = await startProducer();
  const results: Result[] = [];
  try {
    step(
      `producer ready on :${rest} (REST) and :${grpc} (gRPC), BARITO_PRODUCER_WORKERS=${workers}; ${seconds}s per scenario, ${concurrency} concurrent clients`,
    );
    const post = (path: string, body: string) => () =>
      fetch(`http://127.0.0.1:${rest}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.ok;
      });
    await post("/produce_batch", batchBody)(); // creates the topic

    const wrk = installed("wrk");
    if (scenarios.has("rest"))
      results.push(
        await withCpu(producer.pid, async () =>
          wrk
            ? driveWithWrk(
                "REST /produce_batch (100 logs)",
                `http://127.0.0.1:${rest}/produce_batch`,
                batchBody,
                logsPerBatch,
              )
            : await drive("REST /produce_batch (100 logs)", logsPerBatch, post("/produce_batch", batchBody)),
        ),
      );

    const frame = grpcBatchFrame();
    if (scenarios.has("grpc"))
      results.push(
        await withCpu(producer.pid, () =>
          installed("h2load")
            ? driveGrpcWithH2load("gRPC ProduceBatch zstd (100 logs)", grpc, metrics, frame, logsPerBatch)
            : driveGrpcRaw("gRPC ProduceBatch zstd (100 logs)", grpc, frame, logsPerBatch),
        ),
      );

    if (scenarios.has("single"))
      results.push(
        await withCpu(producer.pid, async () =>
          wrk
            ? driveWithWrk("REST /produce (1 log)", `http://127.0.0.1:${rest}/produce`, singleBody, 1)
            : await drive("REST /produce (1 log)", 1, post("/produce", singleBody)),
        ),
      );
  } finally {
    producer.kill("SIGTERM");
  }

  step("kcat baseline: the same number of ~500 B records straight to Kafka (zstd, acks=all, idempotent)");
  // Enough records for a stable rate, bounded so the file stays small (~350 MB at most).
  const records = Math.min(500_000, Math.max(50_000, Math.round(Math.max(...results.map((r) => r.logs)))));
  const file = join(tmpdir(), `bench-${run}.txt`);
  const line = `${JSON.stringify({ context, timestamp: "2026-01-01T00:00:00Z", content: content(0) })}\n`;
  const chunk = line.repeat(10_000);
  writeFileSync(file, "");
  for (let written = 0; written < records; written += 10_000)
    appendFileSync(file, written + 10_000 <= records ? chunk : line.repeat(records - written));
  const topic = `bench${run}_kcat`;
  const started = performance.now();
  execFileSync(
    "kcat",
    ["-b", brokers, "-P", "-t", topic, ...kcatSettings.flatMap((setting) => ["-X", setting]), "-l", file],
    { stdio: "inherit" },
  );
  const kcatSeconds = (performance.now() - started) / 1000;
  rmSync(file, { force: true });
  const kcatRate = records / kcatSeconds;

  console.log(
    `\nrecord size: ~${Buffer.byteLength(line)} B; machine: ${process.platform} ${process.arch}, Node ${process.versions.node}, ${availableParallelism()} CPUs; producer workers: ${workers}\n`,
  );
  console.log(
    `librdkafka settings, producer and kcat alike: ${kcatSettings.join(", ")}\n\n` +
      "| scenario | logs/s | requests/s | p50 ms | p95 ms | p99 ms | errors | × kcat | producer CPU ms / 1k logs | of which main thread |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.scenario} | ${r.logsPerSecond.toFixed(0)} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50ms?.toFixed(1)} | ${r.p95ms?.toFixed(1)} | ${r.p99ms?.toFixed(1)} | ${r.errors} | ${(r.logsPerSecond / kcatRate).toFixed(2)} | ${r.producerCpuMsPer1kLogs?.toFixed(1) ?? ""} | ${r.producerMainThreadMsPer1kLogs?.toFixed(1) ?? ""} |`,
    );
  }
  console.log(`| kcat -P (${records} records) | ${kcatRate.toFixed(0)} | | | | | | 1.00 | | |`);
  const outDir = join(root, ".bench");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `producer-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    out,
    JSON.stringify(
      { seconds, concurrency, results, kcat: { records, seconds: kcatSeconds, logsPerSecond: kcatRate } },
      null,
      2,
    ),
  );
  step(`results written to ${out}`);
}
