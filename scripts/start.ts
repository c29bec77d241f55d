// `pnpm start`: the whole pipeline on the local stack — stack up, build, then the producer and the consumer as
// child processes with their logs interleaved. Ctrl-C (or SIGTERM) stops both apps gracefully, then the stack
// components that this command started.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function runOrExit(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const stackWasUp =
  spawnSync(process.execPath, ["scripts/stack/stack.ts", "status", "--quiet"], { cwd: root }).status === 0;
runOrExit(process.execPath, ["scripts/stack/stack.ts", "up"]);
runOrExit("pnpm", [
  "turbo",
  "run",
  "build",
  "--filter=producer...",
  "--filter=consumer...",
  "--output-logs=errors-only",
]);

const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "development" };
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

console.log(`
[start] pipeline running:
  producer  REST/Connect/gRPC-Web http://127.0.0.1:8080   gRPC h2c 127.0.0.1:8082   metrics http://127.0.0.1:8008/metrics
  consumer  health/metrics http://127.0.0.1:8009/readyz
  try:  curl -s -X POST http://127.0.0.1:8080/produce -H 'content-type: application/json' \\
          -d '{"context":{"kafka_topic":"demo","kafka_partition":1,"kafka_replication_factor":1,"es_index_prefix":"demo","app_max_tps":100},"content":{"message":"hello"}}'
        curl -s 'http://127.0.0.1:9200/demo-*/_search?pretty'
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
