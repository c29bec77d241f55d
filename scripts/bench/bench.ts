// `pnpm bench producer`: throughput of the producer against the real local Kafka, next to kcat writing records of
// the same size straight to Kafka. Bounded: each scenario runs for BENCH_SECONDS (default 10) on loopback.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { createRequire } from "node:module";
import { freePort } from "../lib/ports.ts";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { zstdCompressSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const target = process.argv[2] ?? "producer";
if (target !== "producer" && target !== "consumer" && target !== "memory") {
  console.error(`unknown benchmark '${target}'; available: producer, consumer, memory`);
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
// 32 requests in flight: with 16, each waiting for linger.ms (5) plus the broker's acknowledgement (p50 ~8 ms), the
// rate was bound by latency (16 × 100 logs / 8 ms ≈ 200k logs/s) rather than by the producer, while kcat keeps
// unlimited records in flight.
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 6);
const logsPerBatch = 100;
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

function step(message: string) {
  console.log(`[bench] ${message}`);
}

// ~500 B of JSON content per log.
function content(i: number): Record<string, unknown> {
  return {
    message: `GET /api/v1/orders/${i} 200 ${"lorem ipsum dolor sit amet ".repeat(12)}`,
    level: "info",
    service: "checkout",
    host: "web-17.example.internal",
    trace_id: randomUUID(),
    duration_ms: 12.5,
    i,
  };
}
const context = {
  kafka_topic: `bench${run}`,
  kafka_partition: 3,
  kafka_replication_factor: 1,
  es_index_prefix: "bench",
  app_max_tps: 100_000_000,
};
const batchBody = JSON.stringify({
  context,
  items: Array.from({ length: logsPerBatch }, (_, i) => ({ content: content(i) })),
});
const singleBody = JSON.stringify({ context, content: content(0) });

interface Result {
  scenario: string;
  requests: number;
  logs: number;
  errors: number;
  seconds: number;
  logsPerSecond: number;
  requestsPerSecond: number;
  p50ms?: number;
  p95ms?: number;
  p99ms?: number;
  /** CPU time of the producer process (all its threads, librdkafka's included) per 1,000 logs. */
  producerCpuMsPer1kLogs?: number;
  /** The part of it spent on Node's main thread (the rest: librdkafka's threads, compression, libuv, GC helpers). */
  producerMainThreadMsPer1kLogs?: number;
}

/** Name and user + system CPU seconds so far of a process (or `pid/task/tid`: one thread); Linux /proc only. */
function procStat(pid: number | string | undefined): { name: string; cpuSeconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, // utime, stime in clock ticks (USER_HZ = 100)
    };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process (or one thread) so far (0 where /proc cannot tell). */
function cpuSeconds(pid: number | string | undefined): number {
  return procStat(pid)?.cpuSeconds ?? 0;
}

/** CPU µs per document, by name, between two readings of CPU seconds by name. */
function microsPerDoc(after: Record<string, number>, before: Record<string, number>, docs: number) {
  return Object.fromEntries(
    Object.entries(after).map(([name, spent]) => [
      name,
      Number((((spent - (before[name] ?? 0)) / docs) * 1e6).toFixed(1)),
    ]),
  );
}

function describeMicros(micros: Record<string, number>): string {
  return Object.entries(micros)
    .map(([name, spent]) => `${name} ${spent}`)
    .join(", ");
}

/**
 * Runs a scenario and adds the producer's CPU cost per log: on a shared 2-core machine the rate depends on what else
 * runs, the CPU spent per log much less, so it is the figure to compare between versions.
 */
async function withCpu(pid: number | undefined, run: () => Result | Promise<Result>): Promise<Result> {
  // With BARITO_PRODUCER_WORKERS > 1 the work is in the primary's children: count every process and main thread.
  const processes = () => {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
      return [String(pid), ...children];
    } catch {
      return [String(pid)];
    }
  };
  const total = (of: (p: string) => number | string) => processes().reduce((sum, p) => sum + cpuSeconds(of(p)), 0);
  const before = total((p) => p);
  const mainBefore = total((p) => `${p}/task/${p}`);
  const result = await run();
  const spent = total((p) => p) - before;
  const mainSpent = total((p) => `${p}/task/${p}`) - mainBefore;
  if (spent > 0 && result.logs > 0) {
    result.producerCpuMsPer1kLogs = (spent * 1000 * 1000) / result.logs;
    result.producerMainThreadMsPer1kLogs = (mainSpent * 1000 * 1000) / result.logs;
  }
  return result;
}

/**
 * gRPC ProduceBatch from a raw HTTP/2 client sending one pre-encoded, zstd-compressed request (the bytes barito-router
 * would send) over a few sessions: connect's Node client encoded and compressed every request itself, taking more
 * CPU than the producer on the shared cores. Success = grpc-status 0 in the trailers.
 */
async function driveGrpcRaw(scenario: string, port: number, frame: Buffer, logsPerRequest: number): Promise<Result> {
  const sessions = Array.from({ length: Math.min(4, concurrency) }, () => connectHttp2(`http://127.0.0.1:${port}`));
  let next = 0;
  const call = () =>
    new Promise<boolean>((resolve) => {
      const session = sessions[next++ % sessions.length] as ClientHttp2Session;
      const stream = session.request({
        ":method": "POST",
        ":path": "/producer.Producer/ProduceBatch",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-encoding": "zstd",
        "grpc-accept-encoding": "zstd",
      });
      let status = -1;
      stream.on("response", (headers) => {
        if (headers["grpc-status"] !== undefined) status = Number(headers["grpc-status"]);
      });
      stream.on("trailers", (trailers) => {
        status = Number(trailers["grpc-status"]);
      });
      stream.on("data", () => undefined);
      stream.on("close", () => resolve(status === 0));
      stream.on("error", () => resolve(false));
      stream.end(frame);
    });
  try {
    return await drive(scenario, logsPerRequest, call);
  } finally {
    for (const session of sessions) session.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) : 0;
}

async function drive(scenario: string, logsPerRequest: number, call: () => Promise<boolean>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    process.stdout.write(
      `\r[bench] ${scenario}: ${elapsed.toFixed(0)}/${seconds}s, ${latencies.length} requests, ${errors} errors   `,
    );
  }, 1000);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const ok = await call().catch(() => false);
        if (ok) latencies.push(performance.now() - t);
        else errors++;
      }
    }),
  );
  clearInterval(progress);
  process.stdout.write("\n");
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    scenario,
    requests: latencies.length,
    logs: latencies.length * logsPerRequest,
    errors,
    seconds: elapsed,
    logsPerSecond: (latencies.length * logsPerRequest) / elapsed,
    requestsPerSecond: latencies.length / elapsed,
    p50ms: percentile(latencies, 50),
    p95ms: percentile(latencies, 95),
    p99ms: percentile(latencies, 99),
  };
}

/** A load generator (wrk, h2load) that is on the PATH and runs. */
function installed(command: string): boolean {
  return (
    spawnSync(command, ["--version"], { stdio: "ignore" }).status !== null &&
    spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0
  );
}

/**
 * REST scenarios with wrk when it is installed: a C load generator leaves the producer most of the CPU that a
 * Node client would take on a 2-core machine, so the figure is the producer's, not the client's.
 */
function driveWithWrk(scenario: string, url: string, body: string, logsPerRequest: number): Result {
  const dir = join(tmpdir(), `bench-wrk-${run}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "body.json"), body);
  writeFileSync(
    join(dir, "post.lua"),
    `local f = io.open("${join(dir, "body.json")}", "r"); wrk.body = f:read("*all"); f:close()\nwrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"\n` +
      `done = function(summary, latency, requests) io.write(string.format("RESULT %d %d %d %f %f %f\\n", summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.duration, latency:percentile(50)/1000, latency:percentile(95)/1000, latency:percentile(99)/1000)) end\n`,
  );
  step(`${scenario}: wrk, ${concurrency} connections, ${seconds}s`);
  const output = execFileSync("wrk", ["-t1", `-c${concurrency}`, `-d${seconds}s`, "-s", join(dir, "post.lua"), url], {
    encoding: "utf8",
  });
  rmSync(dir, { recursive: true, force: true });
  const match = /RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)/.exec(output);
  if (!match) throw new Error(`unexpected wrk output: ${output}`);
  const [requests, errors, micros, p50, p95, p99] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const elapsed = micros / 1e6;
  const ok = requests - errors;
  return {
    scenario: `${scenario} [wrk]`,
    requests: ok,
    logs: ok * logsPerRequest,
    errors,
    seconds: elapsed,
    logsPerSecond: (ok * logsPerRequest) / elapsed,
    requestsPerSecond: ok / elapsed,
    p50ms: p50,
    p95ms: p95,
    p99ms: p99,
  };
}

/** The producer's count of gRPC ProduceBatch calls answered with status OK, from its /metrics. */
async function grpcOkCalls(metricsPort: number): Promise<number> {
  // A connection of its own: fetch's pool may reuse the readiness check's, which the server closed when idle.
  const text = await new Promise<string>((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port: metricsPort, path: "/metrics", agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    }).on("error", reject);
  });
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("barito_producer_request_duration_seconds_count{") &&
        l.includes('protocol="grpc"') &&
        l.includes('route="ProduceBatch"') &&
        l.includes('status="ok"'),
    );
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/**
 * gRPC scenario with h2load (nghttp2-client) when it is installed, for the same reason as wrk: a C client leaves the
 * producer the CPU a Node client would take. h2load counts HTTP statuses, not grpc-status, so the calls that
 * succeeded are read from the producer's own request counter; latency percentiles come from h2load's request log.
 */
async function driveGrpcWithH2load(
  scenario: string,
  port: number,
  metricsPort: number,
  frame: Buffer,
  logsPerRequest: number,
): Promise<Result> {
  const dir = join(tmpdir(), `bench-h2load-${run}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "frame.bin"), frame);
  const clients = Math.min(4, concurrency);
  const streams = Math.max(1, Math.ceil(concurrency / clients));
  step(`${scenario}: h2load, ${clients} connections × ${streams} streams, ${seconds}s`);
  const okBefore = await grpcOkCalls(metricsPort);
  const output = execFileSync(
    "h2load",
    [
      `-c${clients}`,
      `-m${streams}`,
      "-t1",
      `-D${seconds}`,
      "-d",
      join(dir, "frame.bin"),
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "-H",
      "grpc-encoding: zstd",
      "-H",
      "grpc-accept-encoding: zstd",
      "--log-file",
      join(dir, "requests.log"),
      `http://127.0.0.1:${port}/producer.Producer/ProduceBatch`,
    ],
    { encoding: "utf8" },
  );
  const answered = /requests: \d+ total, \d+ started, (\d+) done/.exec(output);
  // Calls cut off by the end of the run can still succeed after h2load stopped counting them.
  const ok = Math.min((await grpcOkCalls(metricsPort)) - okBefore, Number(answered?.[1] ?? 0));
  // h2load's log: one line per request, "<start µs>\t<HTTP status>\t<duration µs>".
  const durations = readFileSync(join(dir, "requests.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  rmSync(dir, { recursive: true, force: true });
  const finished = /finished in ([\d.]+)(m?s)/.exec(output);
  if (!finished || !answered) throw new Error(`unexpected h2load output: ${output}`);
  const elapsed = Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1);
  return {
    scenario: `${scenario} [h2load]`,
    requests: ok,
    logs: ok * logsPerRequest,
    errors: Number(answered[1]) - ok,
    seconds: elapsed,
    logsPerSecond: (ok * logsPerRequest) / elapsed,
    requestsPerSecond: ok / elapsed,
    p50ms: percentile(durations, 50),
    p95ms: percentile(durations, 95),
    p99ms: percentile(durations, 99),
  };
}

/** Builds the app and what it depends on, unless BENCH_SKIP_BUILD=1 (to compare builds side by side). */
function build(app: "producer" | "consumer"): void {
  if (process.env.BENCH_SKIP_BUILD === "1") return;
  step(`building the ${app}`);
  execFileSync("pnpm", ["turbo", "run", "build", `--filter=${app}...`, "--output-logs=errors-only"], {
    cwd: root,
    stdio: "inherit",
  });
}

async function main() {
  step("making sure the local stack runs");
  if (
    spawnSync(process.execPath, ["scripts/stack/stack.ts", "up", "--only", "kafka"], { cwd: root, stdio: "inherit" })
      .status !== 0
  )
    process.exit(1);
  build("producer");

  const [rest, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  // BENCH_PRODUCER_NODE_ARGS: extra node flags for the producer (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof");
  // BENCH_SCENARIOS: which of rest,grpc,single to run (default all).
  const producerNodeArgs = (process.env.BENCH_PRODUCER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const scenarios = new Set((process.env.BENCH_SCENARIOS ?? "rest,grpc,single").split(","));
  // BENCH_PRODUCER_WORKERS: the producer's BARITO_PRODUCER_WORKERS (default 1, as the producer's; on two cores
  // shared with Kafka and the load generator, `auto` measured 10-20% slower).
  const workers = process.env.BENCH_PRODUCER_WORKERS ?? "1";
  const producer: ChildProcess = spawn(
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
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const results: Result[] = [];
  try {
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
    // Measuring a producer that cannot reach Kafka would only count errors.
    if (!ready) throw new Error("the producer did not become ready within 20 s (see its log above)");
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

    const requireFromProducer = createRequire(join(root, "apps/producer/package.json"));
    const { fromJson, toBinary } = requireFromProducer("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
    const proto = requireFromProducer("@barito-flow/proto") as typeof import("@barito-flow/proto");
    const message = zstdCompressSync(
      toBinary(proto.TimberCollectionSchema, fromJson(proto.TimberCollectionSchema, JSON.parse(batchBody))),
    );
    const frame = Buffer.alloc(5 + message.byteLength);
    frame[0] = 1; // compressed
    frame.writeUInt32BE(message.byteLength, 1);
    message.copy(frame, 5);
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

/**
 * `pnpm bench consumer`: docs/s draining a pre-filled topic (BENCH_RECORDS, default 200k records of ~500 B) into
 * OpenSearch, next to the ceiling: the same documents sent straight to _bulk with the best of a few request sizes
 * and concurrencies (BENCH_CEILING; picked by a calibration pass), measured before and after each of BENCH_ROUNDS
 * (default 5) drains by a new consumer process. The consumer's sink uses the same request size and concurrency unless
 * BENCH_BULK_SIZE or BENCH_IN_FLIGHT say otherwise; BENCH_SKIP_STACK=1 uses Kafka and OpenSearch as they are.
 */
async function benchConsumer() {
  const records = Number(process.env.BENCH_RECORDS ?? 200_000);
  const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
  step("making sure the local stack runs");
  if (
    process.env.BENCH_SKIP_STACK !== "1" &&
    spawnSync(process.execPath, ["scripts/stack/stack.ts", "up", "--only", "kafka,opensearch"], {
      cwd: root,
      stdio: "inherit",
    }).status !== 0
  )
    process.exit(1);
  build("consumer");

  const requireFromConsumer = createRequire(join(root, "apps/consumer/package.json"));
  const { create, toBinary } = requireFromConsumer("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
  const proto = requireFromConsumer("@barito-flow/proto") as typeof import("@barito-flow/proto");
  const kafka = requireFromConsumer("@barito-flow/kafka") as typeof import("@barito-flow/kafka");
  const prefix = `benchc${run}_`;
  const indexPrefix = `benchc${run}`;
  const topic = `${prefix}app_logs`;
  const admin = kafka.createKafkaAdmin({ brokers: [brokers], clientId: `bench-${run}` });
  const writer = kafka.createKafkaPublisher({ brokers: [brokers], clientId: `bench-writer-${run}` });
  await Promise.all([admin.connect(), writer.connect()]);
  await admin.createTopic({ topic, partitions: 4, replicationFactor: 1 });
  const timestamp = "2026-01-01T00:00:00Z";
  // The ceiling sends these very documents: the JSON the consumer writes (content, then @timestamp).
  const docs: string[] = [];
  step(`pre-filling ${topic} with ${records} records`);
  for (let sent = 0; sent < records; sent += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, records - sent) }, (_, i) => {
      const logContent = content(sent + i);
      docs.push(JSON.stringify({ ...logContent, "@timestamp": timestamp }));
      return {
        key: String(sent + i),
        value: toBinary(
          proto.TimberSchema,
          create(proto.TimberSchema, {
            context: { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 1 },
            timestamp,
            content: logContent as never,
          }),
        ),
      };
    });
    await writer.publish(topic, batch);
    process.stdout.write(`\r[bench] pre-filled ${Math.min(records, sent + 5_000)}/${records}`);
  }
  process.stdout.write("\n");

  // No explicit _refresh while draining (it would slow indexing down); the index refreshes itself every second.
  const count = async (pattern: string, refresh = false) => {
    if (refresh) await fetch(`${opensearch}/${pattern}/_refresh`, { method: "POST" }).catch(() => undefined);
    const res = await fetch(`${opensearch}/${pattern}/_count`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as { count: number }).count : 0;
  };
  const indexedOperations = async (pattern: string) => {
    const res = await fetch(`${opensearch}/${pattern}/_stats/indexing?filter_path=_all.primaries.indexing.index_total`)
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined);
    return (
      (res as { _all?: { primaries?: { indexing?: { index_total?: number } } } } | undefined)?._all?.primaries?.indexing
        ?.index_total ?? 0
    );
  };
  // The ceiling: the same documents straight to _bulk with the best of a few request sizes and concurrencies
  // ("<docs>x<in flight>"). A calibration pass picks the best one; only that one is then measured around every drain
  // (the machine is shared: this averages out drift). The rates that picked it are not reused: the best of a few
  // noisy rates overstates the configuration's true rate (here by about 3%, with passes ±8% apart).
  type CeilingConfig = { size: number; inFlight: number };
  const ceilingConfigs: CeilingConfig[] = (process.env.BENCH_CEILING ?? "2000x2,5000x2,2000x4")
    .split(",")
    .map((entry) => {
      const [size, inFlight] = entry.split("x").map(Number);
      return { size: size as number, inFlight: inFlight ?? 2 };
    });
  const describeConfig = ({ size, inFlight }: CeilingConfig) => `${size} docs per request, ${inFlight} in flight`;
  const ceilingRates: number[] = [];
  const ceilingStackCpu: Record<string, number>[] = [];
  // Where the machine's CPU goes per document: the stack's OpenSearch and Kafka processes (pids from the stack's
  // directory), so that a drain's ratio can be read against the ceiling's OpenSearch cost.
  const stackDir = resolve(root, process.env.STACK_DIR || ".stack");
  const stackPids = Object.fromEntries(
    ["opensearch", "kafka"].flatMap((name) => {
      try {
        return [[name, readFileSync(join(stackDir, `${name}.pid`), "utf8").trim()]];
      } catch {
        return [];
      }
    }),
  );
  const stackCpu = () => Object.fromEntries(Object.entries(stackPids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  /** Sends every document to _bulk `size` per request with `inFlight` requests open; docs/s and the stack's CPU. */
  const ceilingPass = async (round: string, { size, inFlight }: CeilingConfig) => {
    const index = `ceil${run}-${round.replaceAll(" ", "-")}-${size}x${inFlight}`;
    const bodyFor = (from: number) => {
      let body = "";
      for (let i = from; i < Math.min(records, from + size); i++) {
        body += `{"index":{"_index":"${index}","_id":"${topic}-c-${i}"}}\n${docs[i]}\n`;
      }
      return body;
    };
    const t = performance.now();
    const cpuBefore = stackCpu();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < records) {
          const from = next;
          next += size;
          const res = await fetch(`${opensearch}/_bulk?filter_path=errors`, {
            method: "POST",
            headers: { "content-type": "application/x-ndjson" },
            body: bodyFor(from),
          });
          const answer = (await res.json()) as { errors?: boolean };
          if (!res.ok || answer.errors !== false) throw new Error(`ceiling bulk failed: HTTP ${res.status}`);
        }
      }),
    );
    const rate = records / ((performance.now() - t) / 1000);
    const stackMicros = microsPerDoc(stackCpu(), cpuBefore, records);
    await fetch(`${opensearch}/${index}`, { method: "DELETE" }).catch(() => undefined);
    step(
      `ceiling (${round}), _bulk ${size} documents per request, ${inFlight} in flight: ${rate.toFixed(0)} docs/s; ` +
        `CPU per document (µs): ${describeMicros(stackMicros)}`,
    );
    return { rate, stackMicros };
  };
  // BENCH_CONSUMER_NODE_ARGS: extra node flags for the consumer (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof");
  // BENCH_CONSUMER_LOG_LEVEL: its LOG_LEVEL (default warn; info shows when it joined the group and got partitions).
  const nodeArgs = (process.env.BENCH_CONSUMER_NODE_ARGS ?? "").split(" ").filter(Boolean);

  /** One consumer process, in a group of its own, drains the topic from its start into a new index. */
  async function drain(round: number): Promise<Drain> {
    const metricsPort = await freePort();
    // The request size and concurrency the calibration found best for the ceiling, unless set.
    const bulkSize = Number(process.env.BENCH_BULK_SIZE ?? chosen.size);
    const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? chosen.inFlight);
    step(`round ${round}: draining with the consumer`);
    const started = performance.now();
    const consumer = spawn(process.execPath, [...nodeArgs, join(root, "apps/consumer/dist/main.js"), "consumer"], {
      env: {
        ...process.env,
        NODE_ENV: "production",
        LOG_LEVEL: process.env.BENCH_CONSUMER_LOG_LEVEL ?? "warn",
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_ELASTICSEARCH_URLS: opensearch,
        BARITO_KAFKA_TOPIC_PREFIX: prefix,
        BARITO_KAFKA_GROUP_ID: `benchc${run}-${round}`,
        BARITO_CONSUMER_DLQ_TOPIC: `benchc${run}_dlq`,
        BARITO_ELASTICSEARCH_BULK_SIZE: String(bulkSize),
        BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: String(inFlight),
        // What the consumer asks for at startup: room for two rounds of full bulks from one partition.
        BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS:
          process.env.BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS ?? String(Math.max(20_000, 2 * bulkSize * inFlight)),
        EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    // CPU seconds per thread group: the main thread, librdkafka's threads (rdk:*), V8's helpers (concurrent GC and
    // compilers), libuv's pool and the rest, to see where the consumer's CPU goes besides the JavaScript it runs.
    const threadCpu = () => {
      const groups: Record<string, number> = { main: 0, v8: 0, librdkafka: 0, libuv: 0, other: 0 };
      try {
        for (const tid of readdirSync(`/proc/${consumer.pid}/task`)) {
          const thread = procStat(`${consumer.pid}/task/${tid}`);
          if (thread === undefined) continue;
          const comm = thread.name;
          const group =
            tid === String(consumer.pid)
              ? "main"
              : comm.startsWith("rdk:")
                ? "librdkafka"
                : comm.startsWith("V8Worker")
                  ? "v8"
                  : comm.startsWith("libuv")
                    ? "libuv"
                    : "other";
          groups[group] = (groups[group] ?? 0) + thread.cpuSeconds;
        }
      } catch {}
      return groups;
    };
    let indexed = 0;
    // Steady state starts at the first indexed document: joining the group is not indexing throughput.
    let firstSeen:
      | { at: number; count: number; threads: Record<string, number>; stack: Record<string, number> }
      | undefined;
    const deadline = Date.now() + 600_000;
    // The drain proper starts when the consumer reports ready (/readyz: connected, subscribed, sink up): starting
    // Node, loading modules and connecting to Kafka are a restart's cost, not indexing throughput. Joining the group,
    // the first fetch and the first bulk (which creates the index, as the ceiling's first bulk does) are counted.
    let readyAt: number | undefined;
    const readiness = (async () => {
      while (readyAt === undefined && consumer.exitCode === null && Date.now() < deadline) {
        const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (ready) readyAt = performance.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let lastReport = 0;
    while (indexed < records && Date.now() < deadline) {
      // Every 100 ms from the index's indexing statistics, which count a document as soon as OpenSearch acknowledged
      // it: _count waits for a refresh (every second), which put up to two seconds on a run of less than ten.
      await new Promise((r) => setTimeout(r, 100));
      indexed = await indexedOperations(`${indexPrefix}-*`);
      if (!firstSeen && indexed > 0)
        firstSeen = { at: performance.now(), count: indexed, threads: threadCpu(), stack: stackCpu() };
      if (performance.now() - lastReport > 1000 || indexed >= records) {
        lastReport = performance.now();
        process.stdout.write(
          `\r[bench] consumer: ${indexed}/${records} documents, ${((performance.now() - started) / 1000).toFixed(1)}s   `,
        );
      }
    }
    process.stdout.write("\n");
    const drainedAt = performance.now();
    await readiness;
    // The statistics count operations (a retried document twice): the documents themselves must all be there.
    const stored = await count(`${indexPrefix}-*`, true);
    if (stored !== records) throw new Error(`the consumer indexed ${stored} documents of ${records}`);
    const steadyDocs = indexed - (firstSeen?.count ?? 0);
    const threadMicrosPerDoc = microsPerDoc(threadCpu(), firstSeen?.threads ?? {}, steadyDocs);
    const steadyStackMicros = microsPerDoc(stackCpu(), firstSeen?.stack ?? {}, steadyDocs);
    consumer.kill("SIGTERM");
    await new Promise((resolve) => consumer.once("exit", resolve));
    await fetch(`${opensearch}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);

    const result: Drain = {
      seconds: (drainedAt - started) / 1000,
      startSeconds: ((readyAt ?? drainedAt) - started) / 1000,
      firstDocumentSeconds: ((firstSeen?.at ?? drainedAt) - (readyAt ?? started)) / 1000,
      withStartRate: indexed / ((drainedAt - started) / 1000),
      drainRate: indexed / ((drainedAt - (readyAt ?? started)) / 1000),
      steadyRate: firstSeen ? steadyDocs / ((drainedAt - firstSeen.at) / 1000) : 0,
      cpuMicrosPerDoc: Object.values(threadMicrosPerDoc).reduce((sum, micros) => sum + micros, 0),
      threadMicrosPerDoc,
      stackMicrosPerDoc: steadyStackMicros,
    };
    step(
      `round ${round}: ${result.drainRate.toFixed(0)} docs/s from ready (${result.startSeconds.toFixed(2)} s until ` +
        `ready, first document indexed ${result.firstDocumentSeconds.toFixed(2)} s later), steady ` +
        `${result.steadyRate.toFixed(0)}; consumer CPU per document by thread (µs): ` +
        describeMicros(threadMicrosPerDoc) +
        `; stack CPU per document (µs): ${describeMicros(steadyStackMicros)}`,
    );
    return result;
  }

  // Rounds of ceiling, consumer, ceiling, consumer, ..., ceiling: each drain is set against the ceiling measured just
  // before and just after it, and the table shows the median round, since one round on a shared machine can be off
  // by a tenth either way.
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  let chosen = ceilingConfigs[0] as CeilingConfig;
  if (ceilingConfigs.length > 1) {
    let bestRate = 0;
    for (const config of ceilingConfigs) {
      const { rate } = await ceilingPass("calibration", config);
      if (rate > bestRate) [chosen, bestRate] = [config, rate];
    }
    step(`ceiling configuration: ${describeConfig(chosen)}`);
  }
  const measureCeiling = async (round: string) => {
    const { rate, stackMicros } = await ceilingPass(round, chosen);
    ceilingRates.push(rate);
    ceilingStackCpu.push(stackMicros);
  };
  await measureCeiling("before round 1");
  const drains: Drain[] = [];
  for (let round = 1; round <= rounds; round++) {
    drains.push(await drain(round));
    await measureCeiling(round === rounds ? "at the end" : `after round ${round}`);
  }
  await admin.deleteTopics([topic, `benchc${run}_dlq`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);

  const ceilingMean = ceilingRates.reduce((sum, rate) => sum + rate, 0) / ceilingRates.length;
  // A round's ceiling: the rates measured just before and just after it.
  const ceilingOf = (round: number) => ((ceilingRates[round] ?? 0) + (ceilingRates[round + 1] ?? 0)) / 2;
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  };
  const row = (scenario: string, rate: (drain: Drain) => number) => {
    const ratios = drains.map((drain, round) => rate(drain) / ceilingOf(round));
    const range = drains.length > 1 ? ` (rounds: ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")})` : "";
    console.log(`| ${scenario} | ${median(drains.map(rate)).toFixed(0)} | ${median(ratios).toFixed(2)}${range} |`);
  };
  console.log(`\n| scenario (median of ${rounds} rounds) | docs/s | × ceiling |\n| --- | ---: | ---: |`);
  row(
    `consumer draining ${records} records of ~500 B, 4 partitions (from ready to the last document indexed)`,
    (drain) => drain.drainRate,
  );
  row(
    `consumer, steady state (from the first indexed document; consumer CPU ${median(drains.map((drain) => drain.cpuMicrosPerDoc)).toFixed(1)} µs per document)`,
    (drain) => drain.steadyRate,
  );
  row(
    `consumer, including its process start (${median(drains.map((drain) => drain.startSeconds)).toFixed(2)} s until ready)`,
    (drain) => drain.withStartRate,
  );
  console.log(
    `| _bulk ceiling, same documents (${describeConfig(chosen)}, mean of ${ceilingRates.length} passes) | ${ceilingMean.toFixed(0)} | 1.00 |`,
  );
  // The machine is shared: what OpenSearch and Kafka spent per document under the consumer and under the ceiling's
  // client tells whether a lower ratio is the consumer's own CPU or OpenSearch working harder.
  const stackMedian = (samples: Record<string, number>[]) =>
    Object.fromEntries(
      Object.keys(samples[0] ?? {}).map((name) => [
        name,
        Number(median(samples.map((sample) => sample[name] ?? 0)).toFixed(1)),
      ]),
    );
  console.log(
    `\nCPU per document (µs, medians): consumer ${median(drains.map((drain) => drain.cpuMicrosPerDoc)).toFixed(1)}, ` +
      `stack under the consumer: ${describeMicros(stackMedian(drains.map((drain) => drain.stackMicrosPerDoc)))}; ` +
      `stack under the ceiling: ${describeMicros(stackMedian(ceilingStackCpu))}`,
  );
  const outDir = join(root, ".bench");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, `consumer-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify(
      {
        records,
        rounds: drains.map((drain, round) => ({ ...drain, ceiling: ceilingOf(round) })),
        consumerNodeArgs: nodeArgs,
        ceiling: { config: describeConfig(chosen), rate: ceilingMean, runs: ceilingRates, stackCpu: ceilingStackCpu },
      },
      null,
      2,
    ),
  );
}

interface Drain {
  seconds: number;
  startSeconds: number;
  /** From ready to the first document OpenSearch acknowledged (group join, first fetch, first bulk). */
  firstDocumentSeconds: number;
  withStartRate: number;
  drainRate: number;
  steadyRate: number;
  cpuMicrosPerDoc: number;
  threadMicrosPerDoc: Record<string, number>;
  /** CPU of the stack's OpenSearch and Kafka processes per document, in steady state. */
  stackMicrosPerDoc: Record<string, number>;
}

if (target === "memory") await (await import("./memory.ts")).benchMemory();
else await (target === "consumer" ? benchConsumer() : main());
