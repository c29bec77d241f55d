// `pnpm test:fresh`: `./barito start` on a machine that has nothing. A container from the locally bootstrapped
// Debian base (barito-flow/debian:bookworm: no Node, pnpm, Java or compiler) gets this working tree copied in (not
// node_modules, not mounted), then runs `./barito start` with the stack and the apps on free ports of the host
// network. The README's curl example goes to the producer; the document must come back from that container's
// OpenSearch. Then the same again as a second run, which must skip the setup. Prints each phase's duration.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { docker, dockerClient, dockerEnv, type Engine, ensureEngine } from "../images/engine.ts";
import { freePorts } from "../lib/ports.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const image = process.env.FRESH_IMAGE || "barito-flow/debian:bookworm";
const timeoutMin = Number(process.env.FRESH_TIMEOUT_MIN || 45);
// Machines behind a TLS-inspecting proxy trust extra CAs; the container needs the same ones for the npm registry
// and Maven Central. Copied where Debian's ca-certificates (and ca-certificates-java) pick them up when installed.
const caDir = process.env.FRESH_CA_DIR ?? "/usr/local/share/ca-certificates";
const run = `barito-fresh-${Date.now().toString(36)}`;
const outDir = join(root, ".fresh");
mkdirSync(outDir, { recursive: true });
const logPath = join(outDir, `${run}.log`);
const log = createWriteStream(logPath);

function say(line: string): void {
  console.log(`[fresh] ${line}`);
}

async function fail(message: string): Promise<never> {
  say(`FAILED: ${message} (full output: ${logPath})`);
  await cleanup();
  console.log("0 passed, 1 failed");
  process.exit(1);
}

let containerCreated = false;
let engine: Engine | undefined;
async function cleanup(): Promise<void> {
  if (containerCreated && process.env.FRESH_KEEP !== "1") docker(["rm", "-f", run], { allowFailure: true });
  containerCreated = false;
  // Only a dockerd this run started is stopped (ensureEngine reuses a running one and then stop is a no-op).
  await engine?.stop();
  engine = undefined;
}
process.on("SIGINT", () => void fail("interrupted"));
process.on("SIGTERM", () => void fail("terminated"));
engine = await ensureEngine(say);

const [kafka, controller, opensearch, redis, rest, grpc, producerMetrics, consumerMetrics] = await freePorts(8);
const env: Record<string, string> = {
  STACK_KAFKA_PORT: String(kafka),
  STACK_KAFKA_CONTROLLER_PORT: String(controller),
  STACK_OPENSEARCH_PORT: String(opensearch),
  STACK_REDIS_PORT: String(redis),
  STACK_READY_TIMEOUT: "300",
  BARITO_PRODUCER_REST: `:${rest}`,
  BARITO_PRODUCER_GRPC: `:${grpc}`,
  EXPORTER_PORT: `:${producerMetrics}`,
  CONSUMER_EXPORTER_PORT: `:${consumerMetrics}`,
  // Node has its own CA list; point it at the system bundle that apt's ca-certificates writes.
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
};

if (docker(["image", "inspect", image], { allowFailure: true }).status !== 0) {
  await fail(`image ${image} is missing: build it with \`pnpm images build\` (scripts/images/base.ts bootstraps it)`);
}

// The working tree as git sees it (tracked plus untracked-but-not-ignored), so uncommitted edits are tested too.
const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" })
  .split("\0")
  .filter((f) => f && existsSync(join(root, f)) && statSync(join(root, f)).isFile());
const tarball = join(outDir, `${run}.tar`);
execFileSync("tar", ["-cf", tarball, "--null", "-T", "-"], { cwd: root, input: files.join("\0") });

say(`container ${run} from ${image}; ${files.length} files copied in; log ${logPath}`);
say(
  `ports: Kafka ${kafka}, OpenSearch ${opensearch}, Redis ${redis}, REST ${rest}, gRPC ${grpc}, metrics ${producerMetrics}/${consumerMetrics}`,
);
docker([
  "run",
  "-d",
  "--name",
  run,
  "--network",
  "host",
  ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
  image,
  "sleep",
  "infinity",
]);
containerCreated = true;
docker(["cp", tarball, `${run}:/tmp/src.tar`]);
rmSync(tarball);
docker(["exec", run, "sh", "-c", "mkdir -p /barito && tar -xf /tmp/src.tar -C /barito && rm /tmp/src.tar"]);
if (existsSync(caDir)) {
  for (const name of readdirSync(caDir).filter((n) => n.endsWith(".crt"))) {
    docker(["exec", run, "mkdir", "-p", "/usr/local/share/ca-certificates"]);
    docker(["cp", join(caDir, name), `${run}:/usr/local/share/ca-certificates/${name}`]);
  }
}
const absent = docker(["exec", run, "sh", "-c", "for c in node npm pnpm java mvn cc; do command -v $c; done"], {
  allowFailure: true,
}).stdout.trim();
if (absent) await fail(`the container is not bare: ${absent.replace(/\n/g, ", ")}`);

// Not root: nothing is installed, one line names the command to run instead.
const asUser = docker(["exec", "-u", "65534", run, "bash", "-c", "cd /barito && ./barito start"], {
  allowFailure: true,
});
const hint = `${asUser.stdout}${asUser.stderr}`.split("\n").find((l) => l.includes("run: sudo apt-get"));
if (asUser.status !== 1 || !hint) {
  await fail(
    `as a non-root user ./barito start should stop with the apt-get line (exit ${asUser.status}): ${asUser.stderr}`,
  );
}
say(`non-root: ${hint}`);

interface Phase {
  title: string;
  seconds: number;
}

/** One `./barito start` in the container: phases timed by this side's clock, resolved once the producer is ready. */
async function startOnce(label: string): Promise<{ child: ChildProcess; phases: Phase[]; toReady: number }> {
  const began = Date.now();
  const phases: Phase[] = [];
  let current: { title: string; at: number } | undefined;
  const endPhase = (at: number) => {
    if (current) phases.push({ title: current.title, seconds: Math.round((at - current.at) / 1000) });
    current = undefined;
  };
  const child = spawn(
    dockerClient(),
    ["exec", run, "bash", "-c", "cd /barito && echo $$ > /tmp/barito.pid && exec ./barito start"],
    { env: dockerEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let tail: string[] = [];
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const onLine = (line: string) => {
    log.write(`[${label}] ${line}\n`);
    tail = [...tail.slice(-19), line];
    const match = /^==> \[\d+s\] (.*)$/.exec(line);
    if (match?.[1]) {
      const now = Date.now();
      endPhase(now);
      current = { title: match[1], at: now };
      say(`${label}: [${Math.round((now - began) / 1000)}s] ${match[1]}`);
    } else if (/^barito: |^toolchain: |ERR|Error|error:/.test(line)) {
      say(`${label}: ${line}`);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const l of lines) onLine(l);
    });
  }
  const deadline = began + timeoutMin * 60_000;
  let lastBeat = Date.now();
  for (;;) {
    if (exited)
      await fail(`${label}: ./barito start exited before the producer was ready; last lines:\n${tail.join("\n")}`);
    if (Date.now() > deadline) await fail(`${label}: producer not ready within ${timeoutMin} min (FRESH_TIMEOUT_MIN)`);
    const ready = await fetch(`http://127.0.0.1:${producerMetrics}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() - lastBeat > 60_000) {
      lastBeat = Date.now();
      say(
        `${label}: still in "${current?.title ?? "?"}" (${Math.round((Date.now() - (current?.at ?? began)) / 1000)}s)`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  endPhase(Date.now());
  return { child, phases, toReady: Math.round((Date.now() - began) / 1000) };
}

/** The README's curl example, sent from inside the container, with a message to find again. */
async function produceAndFind(label: string, message: string): Promise<number> {
  const body = JSON.stringify({
    context: {
      kafka_topic: "demo",
      kafka_partition: 1,
      kafka_replication_factor: 1,
      es_index_prefix: "demo",
      app_max_tps: 100,
    },
    content: { message },
  });
  const sent = Date.now();
  const answer = docker([
    "exec",
    run,
    "curl",
    "-s",
    "-X",
    "POST",
    `http://127.0.0.1:${rest}/produce`,
    "-H",
    "content-type: application/json",
    "-d",
    body,
  ]);
  say(`${label}: POST /produce -> ${answer.stdout.trim()}`);
  const query = encodeURIComponent(`message:"${message}"`);
  for (;;) {
    const hits = await fetch(`http://127.0.0.1:${opensearch}/demo-*/_search?q=${query}`)
      .then((r) => (r.ok ? (r.json() as Promise<{ hits: { total: { value: number } } }>) : undefined))
      .catch(() => undefined);
    if ((hits?.hits.total.value ?? 0) > 0) return Date.now() - sent;
    if (Date.now() - sent > 60_000) await fail(`${label}: "${message}" not found in OpenSearch demo-* within 60s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  docker(["exec", run, "sh", "-c", "kill -TERM $(cat /tmp/barito.pid)"], { allowFailure: true });
  await Promise.race([done, new Promise((r) => setTimeout(r, 90_000))]);
}

const report: string[] = [];
for (const label of ["first run", "second run"]) {
  const { child, phases, toReady } = await startOnce(label);
  const ms = await produceAndFind(label, `hello from ${run} ${label}`);
  const line = `${label}: producer ready after ${toReady}s; phases ${phases.map((p) => `${p.title.replace(/ \(.*$/, "")} ${p.seconds}s`).join(", ")}; document indexed ${ms} ms after the POST`;
  say(line);
  report.push(line);
  await stop(child);
}
await cleanup();
say("summary:");
for (const line of report) say(`  ${line}`);
console.log("1 passed, 0 failed");
