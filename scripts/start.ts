// `pnpm start`: the whole pipeline on the local stack — stack up, build, then the producer and the consumer as
// child processes with their logs interleaved. Ctrl-C (or SIGTERM) stops both apps gracefully, then the stack
// components that this command started. The stack's STACK_* settings decide where it listens; the apps are pointed
// there unless BARITO_* says otherwise, so a second pipeline can run beside another stack on the same machine.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, StackError } from "./stack/config.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const startedAt = Date.now();
let phaseStartedAt = startedAt;
// Same "==> [elapsed] name" lines as ./barito, plus how long the previous phase took.
function phase(title: string): void {
  const now = Date.now();
  console.log(`\n==> [${Math.round((now - startedAt) / 1000)}s] ${title}`);
  phaseStartedAt = now;
}
function phaseDone(name: string): void {
  console.log(`[start] phase ${name}=${Math.round((Date.now() - phaseStartedAt) / 1000)}s`);
}

function runOrExit(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Port of a listen address such as ":8080" or "0.0.0.0:8080" (the apps' own syntax), for the printed URLs. */
function listenPort(name: string, fallback: number): number {
  const raw = process.env[name];
  const match = raw ? /:(\d+)$/.exec(raw) : null;
  return match ? Number(match[1]) : fallback;
}

let stack: ReturnType<typeof loadConfig>;
try {
  stack = loadConfig();
} catch (error) {
  if (!(error instanceof StackError)) throw error;
  console.error(`[start] ${error.code}: ${error.message}`);
  process.exit(2);
}

phase("Local stack (Kafka, OpenSearch, Redis; artifacts fetched once)");
const stackWasUp =
  spawnSync(process.execPath, ["scripts/stack/stack.ts", "status", "--quiet"], { cwd: root }).status === 0;
runOrExit(process.execPath, ["scripts/stack/stack.ts", "up"]);
phaseDone("stack");
phase("Build producer and consumer");
runOrExit("pnpm", [
  "turbo",
  "run",
  "build",
  "--filter=producer...",
  "--filter=consumer...",
  "--output-logs=errors-only",
]);
phaseDone("build");
phase("Producer and consumer");

const stackEnv = {
  BARITO_KAFKA_BROKERS: `${stack.host}:${stack.kafkaPort}`,
  BARITO_ELASTICSEARCH_URLS: `http://${stack.host}:${stack.opensearchPort}`,
  BARITO_REDIS_URL: `redis://${stack.host}:${stack.redisPort}`,
};
const env = { ...stackEnv, ...process.env, NODE_ENV: process.env.NODE_ENV ?? "development" };
const apps: Array<{ name: string; child: ChildProcess }> = [];

function startApp(name: string, command: string, extraEnv: Record<string, string>): void {
  const child = spawn(process.execPath, [join(root, "apps", name, "dist", "main.js"), command], {
    cwd: join(root, "apps", name),
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "inherit", "inherit"],
    // Own process group: a terminal's Ctrl-C reaches only this script, which forwards exactly one SIGTERM.
    // (A SIGINT plus a SIGTERM would count as a second signal and force the apps out without draining.)
    detached: true,
  });
  child.on("exit", (code, signal) => {
    console.log(`[start] ${name} exited (${signal ?? code})`);
    if (!stopping) void stopAll(1);
  });
  apps.push({ name, child });
}

startApp("producer", "producer", {});
// The consumer's metrics port must differ from the producer's (both default to :8008).
startApp("consumer", "consumer", { EXPORTER_PORT: process.env.CONSUMER_EXPORTER_PORT ?? ":8009" });

const rest = listenPort("BARITO_PRODUCER_REST", 8080);
const grpc = listenPort("BARITO_PRODUCER_GRPC", 8082);
const producerMetrics = listenPort("EXPORTER_PORT", 8008);
const consumerMetrics = listenPort("CONSUMER_EXPORTER_PORT", 8009);
const search = ((env.BARITO_ELASTICSEARCH_URLS ?? "").split(",")[0] ?? "").replace(/\/+$/, "");
console.log(`
[start] pipeline running (Kafka ${env.BARITO_KAFKA_BROKERS}, OpenSearch ${search}):
  producer  REST/Connect/gRPC-Web http://127.0.0.1:${rest}   gRPC h2c 127.0.0.1:${grpc}   metrics http://127.0.0.1:${producerMetrics}/metrics
  consumer  health/metrics http://127.0.0.1:${consumerMetrics}/readyz
  status    producer http://127.0.0.1:${producerMetrics}/status   consumer http://127.0.0.1:${consumerMetrics}/status
  try:  curl -s -X POST http://127.0.0.1:${rest}/produce -H 'content-type: application/json' \\
          -d '{"context":{"kafka_topic":"demo","kafka_partition":1,"kafka_replication_factor":1,"es_index_prefix":"demo","app_max_tps":100},"content":{"message":"hello"}}'
        curl -s '${search}/demo-*/_search?pretty'
  Ctrl-C stops everything.
`);

let stopping = false;
async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("[start] stopping producer and consumer…");
  await Promise.all(
    apps.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
  if (!stackWasUp) spawnSync(process.execPath, ["scripts/stack/stack.ts", "down"], { cwd: root, stdio: "inherit" });
  process.exit(exitCode);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
