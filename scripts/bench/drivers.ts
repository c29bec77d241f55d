// The load generators of `pnpm bench producer`: wrk (REST) and h2load (gRPC) when installed, a Node client
// otherwise. Each runs one scenario for `seconds` with `concurrency` requests in flight and returns its Result.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { produceBatch } from "./grpc-produce.ts";
import { concurrency, run, seconds, step } from "./settings.ts";

export interface Result {
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

/** gRPC ProduceBatch from Node over a few HTTP/2 sessions (h2load's fallback). Success = grpc-status 0. */
export async function driveGrpcRaw(
  scenario: string,
  port: number,
  frame: Buffer,
  logsPerRequest: number,
): Promise<Result> {
  const sessions = Array.from({ length: Math.min(4, concurrency) }, () => connectHttp2(`http://127.0.0.1:${port}`));
  let next = 0;
  const call = async () =>
    (await produceBatch(sessions[next++ % sessions.length] as ClientHttp2Session, frame)).status === 0;
  try {
    return await drive(scenario, logsPerRequest, call);
  } finally {
    for (const session of sessions) session.destroy();
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) : 0;
}

export async function drive(scenario: string, logsPerRequest: number, call: () => Promise<boolean>): Promise<Result> {
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
export function installed(command: string): boolean {
  return (
    spawnSync(command, ["--version"], { stdio: "ignore" }).status !== null &&
    spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0
  );
}

/**
 * REST scenarios with wrk when it is installed: a C load generator leaves the producer most of the CPU that a
 * Node client would take on a 2-core machine, so the figure is the producer's, not the client's.
 */
export function driveWithWrk(scenario: string, url: string, body: string, logsPerRequest: number): Result {
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
export async function driveGrpcWithH2load(
  scenario: string,
  port: number,
  metricsPort: number,
  frame: Buffer,
  logsPerRequest: number,
  scheme: "http" | "https" = "http",
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
      `${scheme}://127.0.0.1:${port}/producer.Producer/ProduceBatch`,
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
