// `pnpm images compose check|up|down`: the whole pipeline under Debian's docker-compose (1.29), with
// docker-compose.local.yml building Kafka, OpenSearch and Redis here. The check uses its own project name and ports
// (the default stack holds 9092/9200/6379/8080/8082/8008/8009 on the project's machines), sends the seed README's
// bodies through the producer service and finds them indexed by the consumer service, then removes its project.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  copyFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { bundleDir, ensureBundle, lockedBundle } from "../stack/artifacts.ts";
import { loadConfig } from "../stack/config.ts";
import { BASE_IMAGE, ensureBase, RUNTIME_IMAGE } from "./base.ts";
import { buildImages, missingImages } from "./build.ts";
import { freePorts } from "../lib/ports.ts";
import { search, sleep, waitFor } from "./containers.ts";
import { post, seedProduce, seedProduceBatch } from "./requests.ts";
import { dockerEnv, formatSeconds, ImagesError, type Log, repoRoot, stream } from "./engine.ts";

const FILES = ["-f", join(repoRoot, "docker-compose.yml"), "-f", join(repoRoot, "docker-compose.local.yml")];
const STACK_CONTEXT = join(repoRoot, "scripts", "images", "stack");

function composeBinary(): string {
  const found = ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"].find((p) => existsSync(p));
  if (!found) throw new ImagesError("compose_missing", "docker-compose is needed: apt-get install docker-compose");
  return found;
}

/**
 * compose builds through the docker CLI found on PATH; Debian's (/usr/bin) must win over a newer client without
 * buildx, which refuses BuildKit builds.
 */
function composeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...dockerEnv(), PATH: `/usr/bin:${process.env.PATH ?? ""}`, ...extra };
}

/** Kafka's jars (hard links into the cache) and OpenSearch unpacked, where the stack images' Dockerfiles COPY them. */
export async function stageArtifacts(log: Log): Promise<void> {
  const config = loadConfig();
  const kafkaDir = await ensureBundle(config, "kafka", log);
  const kafkaOut = join(STACK_CONTEXT, "kafka", ".artifacts");
  rmSync(kafkaOut, { recursive: true, force: true });
  mkdirSync(kafkaOut, { recursive: true });
  for (const artifact of lockedBundle("kafka").artifacts) {
    const from = join(kafkaDir, artifact.file);
    try {
      linkSync(from, join(kafkaOut, artifact.file));
    } catch {
      copyFileSync(from, join(kafkaOut, artifact.file)); // another filesystem
    }
  }
  await ensureBundle(config, "opensearch", log);
  const version = lockedBundle("opensearch").version;
  const osOut = join(STACK_CONTEXT, "opensearch", ".artifacts");
  const stamp = join(osOut, ".barito-unpacked");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return;
  rmSync(osOut, { recursive: true, force: true });
  const scratch = `${osOut}.partial`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`compose: unpacking OpenSearch ${version} for its image`);
  const unzip = spawnSync("unzip", [
    "-q",
    join(bundleDir(config, "opensearch"), `opensearch-${version}.zip`),
    "-d",
    scratch,
  ]);
  if (unzip.status !== 0)
    throw new ImagesError("extract_failed", `unzip of OpenSearch ${version} failed: ${unzip.stderr}`);
  const [top] = readdirSync(scratch);
  spawnSync("mv", [join(scratch, top ?? ""), osOut]);
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(stamp, `${version}\n`);
}

export interface ComposeProject {
  name: string;
  env: Record<string, string>;
  ports: {
    kafka: number;
    opensearch: number;
    redis: number;
    rest: number;
    grpc: number;
    producerMetrics: number;
    consumerMetrics: number;
  };
}

export async function newProject(
  name = process.env.COMPOSE_PROJECT_NAME || `baritocheck${randomBytes(3).toString("hex")}`,
): Promise<ComposeProject> {
  const env = (key: string, fallback: number) => Number(process.env[key] || fallback);
  const free = await freePorts(7);
  const ports = {
    kafka: env("STACK_KAFKA_PORT", free[0] as number),
    opensearch: env("STACK_OPENSEARCH_PORT", free[1] as number),
    redis: env("STACK_REDIS_PORT", free[2] as number),
    rest: env("PRODUCER_REST_PORT", free[3] as number),
    grpc: env("PRODUCER_GRPC_PORT", free[4] as number),
    producerMetrics: env("PRODUCER_METRICS_PORT", free[5] as number),
    consumerMetrics: env("CONSUMER_METRICS_PORT", free[6] as number),
  };
  return {
    name,
    ports,
    env: {
      COMPOSE_PROJECT_NAME: name,
      BARITO_NODE_IMAGE: BASE_IMAGE,
      BARITO_RUNTIME_IMAGE: RUNTIME_IMAGE,
      STACK_KAFKA_PORT: String(ports.kafka),
      STACK_OPENSEARCH_PORT: String(ports.opensearch),
      STACK_REDIS_PORT: String(ports.redis),
      PRODUCER_REST_PORT: String(ports.rest),
      PRODUCER_GRPC_PORT: String(ports.grpc),
      PRODUCER_METRICS_PORT: String(ports.producerMetrics),
      CONSUMER_METRICS_PORT: String(ports.consumerMetrics),
      // The check's topic is created after the consumer started: find it in seconds, not the default 30 s.
      BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: process.env.BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL || "2s",
    },
  };
}

function compose(project: ComposeProject, args: string[], log: Log): Promise<void> {
  return stream(composeBinary(), ["-p", project.name, ...FILES, ...args], log, {
    env: composeEnv(project.env),
    prefix: "  compose: ",
    filter: (line) => !/^#\d+ (sha256|\d+\.\d+ )/.test(line),
  });
}

/** Base, app images and stack images; the app images come from `pnpm images build` (same tags as compose's). */
async function prepare(project: ComposeProject, log: Log, phases: Phase[]): Promise<void> {
  let started = Date.now();
  const base = await ensureBase(log);
  phases.push({ name: "base image", seconds: (Date.now() - started) / 1000, detail: base.how });
  started = Date.now();
  if (missingImages().length > 0) await buildImages(log);
  phases.push({ name: "app images", seconds: (Date.now() - started) / 1000, detail: "pnpm images build" });
  started = Date.now();
  await stageArtifacts(log);
  await compose(project, ["build", "kafka", "opensearch", "redis"], log);
  phases.push({ name: "stack images", seconds: (Date.now() - started) / 1000, detail: "kafka, opensearch, redis" });
}

export async function composeUp(log: Log): Promise<ComposeProject> {
  const project = await newProject(process.env.COMPOSE_PROJECT_NAME || "barito-flow");
  await prepare(project, log, []);
  await compose(project, ["up", "-d", "--no-build"], log);
  log(
    `compose: project ${project.name} up; producer REST http://127.0.0.1:${project.ports.rest}, OpenSearch http://127.0.0.1:${project.ports.opensearch}`,
  );
  log(
    `compose: set the same ports (${Object.entries(project.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}) for pnpm images compose down`,
  );
  return project;
}

export async function composeDown(log: Log): Promise<void> {
  const project = await newProject(process.env.COMPOSE_PROJECT_NAME || "barito-flow");
  await compose(project, ["down", "-v", "--remove-orphans"], log);
}

export interface Phase {
  name: string;
  seconds: number;
  detail: string;
}

export interface ComposeCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ComposeResult {
  ok: boolean;
  checks: ComposeCheck[];
  phases: Phase[];
}

export const COMPOSE_CHECK_NAMES = [
  "docker-compose up brings the pipeline up (both apps ready)",
  "seed README bodies sent to the compose producer are indexed by the compose consumer",
  "docker-compose down -v removes the project",
] as const;

async function httpOk(url: string): Promise<boolean> {
  return fetch(url).then(
    (r) => r.ok,
    () => false,
  );
}

export async function composeCheck(log: Log): Promise<ComposeResult> {
  const project = await newProject();
  const phases: Phase[] = [];
  const checks: ComposeCheck[] = [];
  const record = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
    log(`${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
  };
  log(`compose check: project ${project.name}, ports ${JSON.stringify(project.ports)}`);
  let upStarted = false;
  try {
    await prepare(project, log, phases);
    let started = Date.now();
    upStarted = true;
    await compose(project, ["up", "-d", "--no-build"], log);
    const rest = `http://127.0.0.1:${project.ports.rest}`;
    const os = `http://127.0.0.1:${project.ports.opensearch}`;
    const ready = await waitFor(
      async () =>
        (await httpOk(`http://127.0.0.1:${project.ports.producerMetrics}/readyz`)) &&
        (await httpOk(`http://127.0.0.1:${project.ports.consumerMetrics}/readyz`))
          ? true
          : undefined,
      180_000,
      1000,
    );
    phases.push({ name: "up", seconds: (Date.now() - started) / 1000, detail: "until both apps answer /readyz" });
    record(
      COMPOSE_CHECK_NAMES[0],
      ready === true,
      ready
        ? `producer and consumer ready after ${formatSeconds(Date.now() - started)}`
        : `not ready in 180 s:\n${serviceStates(project)}`,
    );
    if (!ready) throw new Error("the compose project never became ready");

    started = Date.now();
    const indexPrefix = `compose${project.name.slice(-6)}`;
    const statuses = [
      (await post(`${rest}/produce`, seedProduce(indexPrefix))).status,
      (await post(`${rest}/produce_batch`, seedProduceBatch(indexPrefix))).status,
    ];
    const found = await waitFor(
      async () => {
        const r = await search(os, `${indexPrefix}-*`, { match_all: {} });
        return r.total >= 3 ? r : undefined;
      },
      90_000,
      1000,
    );
    await sleep(1000);
    const final = await search(os, `${indexPrefix}-*`, { match_all: {} });
    phases.push({ name: "logs indexed", seconds: (Date.now() - started) / 1000, detail: "3 seed logs" });
    record(
      COMPOSE_CHECK_NAMES[1],
      statuses.every((s) => s === 200) && found !== undefined && final.total === 3,
      `HTTP ${statuses.join(", ")}; ${final.total} of 3 documents in ${[...new Set(final.hits.map((h) => h._index))].join(", ") || "no index"}`,
    );
  } catch (error) {
    log(`compose check: stopped early: ${(error as Error).message}`);
    if (upStarted) log(serviceStates(project));
  } finally {
    const started = Date.now();
    try {
      await compose(project, ["down", "-v", "--remove-orphans", "-t", "40"], log);
      const left = spawnSync(
        "/usr/bin/docker",
        ["ps", "-a", "--filter", `label=com.docker.compose.project=${project.name}`, "-q"],
        { encoding: "utf8" },
      );
      const volumes = spawnSync(
        "/usr/bin/docker",
        ["volume", "ls", "--filter", `label=com.docker.compose.project=${project.name}`, "-q"],
        { encoding: "utf8" },
      );
      const leftover = `${left.stdout}${volumes.stdout}`.trim();
      record(
        COMPOSE_CHECK_NAMES[2],
        leftover === "",
        leftover === "" ? "no container or volume of the project left" : `left behind: ${leftover}`,
      );
    } catch (error) {
      record(COMPOSE_CHECK_NAMES[2], false, (error as Error).message);
    }
    phases.push({ name: "down", seconds: (Date.now() - started) / 1000, detail: "down -v" });
  }
  const all = COMPOSE_CHECK_NAMES.map(
    (name) => checks.find((c) => c.name === name) ?? { name, ok: false, detail: "not reached" },
  );
  return { ok: all.every((c) => c.ok), checks: all, phases };
}

function serviceStates(project: ComposeProject): string {
  const ps = spawnSync(composeBinary(), ["-p", project.name, ...FILES, "ps"], {
    env: composeEnv(project.env),
    encoding: "utf8",
  });
  const logs = spawnSync(composeBinary(), ["-p", project.name, ...FILES, "logs", "--tail", "10", "--no-color"], {
    env: composeEnv(project.env),
    encoding: "utf8",
  });
  return `${ps.stdout}\n${logs.stdout.split("\n").slice(-60).join("\n")}`;
}

export function printComposeSummary(result: ComposeResult, log: Log): void {
  log("");
  log("compose check summary");
  for (const phase of result.phases)
    log(`  ${phase.name.padEnd(14)} ${phase.seconds.toFixed(1).padStart(6)} s  ${phase.detail}`);
  for (const check of result.checks) log(`  ${check.ok ? "PASS" : "FAIL"}  ${check.name}`);
  const failed = result.checks.filter((c) => !c.ok).length;
  log(`${result.checks.length - failed} passed, ${failed} failed`);
}
