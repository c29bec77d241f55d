// `pnpm chaos`: the end-to-end oracle of the delivery contract. Starts a PRIVATE stack (own directory and ports, so
// the default stack other tests use is never touched), the built producer and consumer as child processes, drives N
// uniquely identified logs through every protocol while faults are injected (apps SIGKILLed and restarted, Kafka,
// OpenSearch and Redis stopped and started, a second consumer joining and leaving), waits for the consumer to
// catch up, then reads everything back from OpenSearch: every acknowledged log exactly once with its content
// intact, failed ones absent or present once, nothing else. Exit 0 only if every invariant holds.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  loadConfig,
  resetStack,
  type StackConfig,
  stackDown,
  startComponent,
  stackUp,
  stopComponent,
} from "../stack/stack.ts";
import { freePorts } from "../lib/ports.ts";
import { AppProcess, scrapeMetricSum, type UnexpectedExit, waitHttpOk } from "./apps.ts";
import type { TopicSpec } from "./content.ts";
import { selfCheck, verifyIndices } from "./oracle.ts";
import { Traffic } from "./traffic.ts";
import { countDocs, KafkaProbe, listIndices, refresh } from "./verify.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

// ---------------------------------------------------------------------------------------------------- options

export const FAULT_KINDS = [
  "consumer-kill",
  "consumer2-start",
  "opensearch-stop",
  "consumer2-stop",
  "producer-kill",
  "kafka-stop",
  "redis-stop",
  "kafka-kill",
  "opensearch-kill",
] as const;
type FaultKind = (typeof FAULT_KINDS)[number];
const DEFAULT_FAULTS: FaultKind[] = [
  "consumer-kill",
  "consumer2-start",
  "opensearch-stop",
  "consumer2-stop",
  "producer-kill",
  "kafka-stop",
  "redis-stop",
  "consumer-kill",
];

interface Options {
  logs: number;
  faults: FaultKind[];
  rate: number | undefined;
  gapSeconds: number;
  concurrency: number;
  maxBatch: number;
  keyedShare: number;
  catchupTimeoutSeconds: number;
  outDir: string;
  stackDir: string;
  report: string | undefined;
  build: boolean;
  keepStack: boolean;
  seed: number;
  selfCheck: boolean;
  opensearchDownSeconds: number;
  kafkaDownSeconds: number;
  redisDownSeconds: number;
}

const USAGE = `usage: pnpm chaos [options]
  --logs N                 logs to send (default 200000)
  --faults a,b,...|none    fault schedule, in order (default: ${DEFAULT_FAULTS.join(",")})
                           kinds: ${FAULT_KINDS.join(", ")}
  --gap S                  seconds of traffic between two faults (default 10)
  --rate N                 logs/s (default: paced so the traffic spans the fault schedule)
  --concurrency N          concurrent client requests (default 8)
  --max-batch N            largest batch (default 500; sizes are log-uniform in 1..N)
  --keyed-share F          share of requests with an Idempotency-Key (default 0.7)
  --opensearch-down S | --kafka-down S | --redis-down S
                           outage lengths (default 20, 15, 10)
  --catchup-timeout S      bounded wait for the consumer to catch up (default 300)
  --out DIR                run directory: app logs and report.json (default .chaos/runs/<time>)
  --report FILE            also write the JSON report here
  --stack-dir DIR          private stack directory (default .chaos/stack; wiped at start)
  --keep-stack             leave the private stack running at the end
  --no-build               do not run the apps' build first
  --print-report FILE      print a saved report.json again and exit
  --seed N                 traffic randomness (default: random)
  --self-check             after the verdict, plant one missing/duplicated/corrupted/unknown document and
                           check that a second verification sees exactly those`;

function parseOptions(argv: string[]): Options {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const options: Options = {
    logs: 200_000,
    faults: DEFAULT_FAULTS,
    rate: undefined,
    gapSeconds: 10,
    concurrency: 8,
    maxBatch: 500,
    keyedShare: 0.7,
    catchupTimeoutSeconds: 300,
    outDir: join(root, ".chaos", "runs", stamp),
    stackDir: join(root, ".chaos", "stack"),
    report: undefined,
    build: true,
    keepStack: false,
    seed: Math.floor(Math.random() * 2 ** 31),
    selfCheck: false,
    opensearchDownSeconds: 20,
    kafkaDownSeconds: 15,
    redisDownSeconds: 10,
  };
  const number = (flag: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < min) usage(`${flag} needs a number >= ${min}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=") ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--logs":
        options.logs = Math.floor(number(flag, value(), 1));
        break;
      case "--faults": {
        const list = value() ?? "";
        if (list === "none") options.faults = [];
        else
          options.faults = list.split(",").map((name) => {
            if (!(FAULT_KINDS as readonly string[]).includes(name)) usage(`unknown fault "${name}"`);
            return name as FaultKind;
          });
        break;
      }
      case "--gap":
        options.gapSeconds = number(flag, value(), 1);
        break;
      case "--rate":
        options.rate = number(flag, value(), 1);
        break;
      case "--concurrency":
        options.concurrency = Math.floor(number(flag, value(), 1));
        break;
      case "--max-batch":
        options.maxBatch = Math.floor(number(flag, value(), 1));
        break;
      case "--keyed-share":
        options.keyedShare = Math.min(1, number(flag, value(), 0));
        break;
      case "--opensearch-down":
        options.opensearchDownSeconds = number(flag, value(), 0);
        break;
      case "--kafka-down":
        options.kafkaDownSeconds = number(flag, value(), 0);
        break;
      case "--redis-down":
        options.redisDownSeconds = number(flag, value(), 0);
        break;
      case "--catchup-timeout":
        options.catchupTimeoutSeconds = number(flag, value(), 1);
        break;
      case "--out":
        options.outDir = resolve(value() ?? usage("--out needs a directory"));
        break;
      case "--report":
        options.report = resolve(value() ?? usage("--report needs a file"));
        break;
      case "--stack-dir":
        options.stackDir = resolve(value() ?? usage("--stack-dir needs a directory"));
        break;
      case "--keep-stack":
        options.keepStack = true;
        break;
      case "--self-check":
        options.selfCheck = true;
        break;
      case "--print-report": {
        const file = value() ?? usage("--print-report needs a file");
        printReport(JSON.parse(readFileSync(file, "utf8")));
        process.exit(0);
        break;
      }
      case "--no-build":
        options.build = false;
        break;
      case "--seed":
        options.seed = Math.floor(number(flag, value(), 0));
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  return options;
}

function usage(message: string): never {
  console.error(`[chaos] ${message}\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------- helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let t0 = Date.now();
const since = (at: number = Date.now()) => Math.round((at - t0) / 100) / 10;
const say = (line: string) => console.log(`[chaos] ${String(since().toFixed(1)).padStart(6)}s ${line}`);
const fmt = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n)));

interface FaultRecord {
  kind: FaultKind;
  /** Seconds since the run started. */
  plannedAt: number;
  startedAt: number;
  /** When the fault was lifted (process restarted / component start requested). */
  liftedAt?: number;
  /** When the component answered again (start completed). */
  restoredAt?: number;
  /** Seconds from lift to the first successful produce request completing. */
  firstAckAfterLift?: number;
  /** Seconds from lift to the first document indexed by a consumer. */
  indexingResumedAfterLift?: number;
  /** Client request errors from the fault's start to the first success after it was lifted. */
  clientErrors?: number;
  notes: string[];
}

interface Sample {
  t: number;
  acked: number;
  ackedPerSec: number;
  indexedEvents: number;
  indexedPerSec: number;
  docs: number | undefined;
  errors: number;
  fault: string;
}

// ---------------------------------------------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  t0 = Date.now();
  const run = `c${Date.now().toString(36)}`;
  mkdirSync(options.outDir, { recursive: true });

  // Plan: each fault gets its outage plus a gap of traffic; the sender is paced so the traffic spans the plan.
  const holdOf = (kind: FaultKind): number =>
    kind === "opensearch-stop" || kind === "opensearch-kill"
      ? options.opensearchDownSeconds
      : kind === "kafka-stop" || kind === "kafka-kill"
        ? options.kafkaDownSeconds
        : kind === "redis-stop"
          ? options.redisDownSeconds
          : kind === "consumer-kill"
            ? 2
            : kind === "producer-kill"
              ? 1
              : 0;
  // Expected time from lift to recovery on this machine (component boot, group session timeout after a SIGKILL):
  // part of each fault's slot, so the paced traffic rarely has to wait for the schedule.
  const recoveryOf = (kind: FaultKind): number =>
    kind.startsWith("opensearch") ? 20 : kind.startsWith("kafka") ? 12 : kind === "consumer-kill" ? 20 : 2;
  const slots = options.faults.map((kind) => holdOf(kind) + recoveryOf(kind) + options.gapSeconds);
  const plannedSeconds = options.gapSeconds + slots.reduce((a, b) => a + b, 0);
  const rate = options.rate ?? Math.max(50, options.logs / plannedSeconds);
  const thresholds: number[] = [];
  let acc = options.gapSeconds;
  for (const slot of slots) {
    thresholds.push(Math.floor((acc / plannedSeconds) * options.logs));
    acc += slot;
  }

  const [
    kafkaPort,
    controllerPort,
    opensearchPort,
    redisPort,
    restPort,
    grpcPort,
    producerMetrics,
    c1Metrics,
    c2Metrics,
  ] = (await freePorts(9)) as [number, number, number, number, number, number, number, number, number];
  const stackEnv = {
    ...process.env,
    STACK_DIR: options.stackDir,
    STACK_KAFKA_PORT: String(kafkaPort),
    STACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
    STACK_OPENSEARCH_PORT: String(opensearchPort),
    STACK_REDIS_PORT: String(redisPort),
    // No SASL listener (its default port belongs to the default stack).
    STACK_KAFKA_SASL_PORT: "",
    STACK_KAFKA_HEAP: process.env.CHAOS_KAFKA_HEAP ?? "384m",
    STACK_OPENSEARCH_HEAP: process.env.CHAOS_OPENSEARCH_HEAP ?? "512m",
  };
  const config: StackConfig = loadConfig(stackEnv);
  const stackLog = (line: string) => say(`stack: ${line}`);
  const brokers = `127.0.0.1:${kafkaPort}`;
  const opensearch = `http://127.0.0.1:${opensearchPort}`;
  const restUrl = `http://127.0.0.1:${restPort}`;
  const prefix = "chaos_";
  const dlqTopic = "chaos_dlq";
  const groupId = "chaos";
  const topics: TopicSpec[] = [
    { kafkaTopic: "orders", partitions: 3, indexPrefix: "chaos-orders", appMaxTps: 1_000_000 },
    { kafkaTopic: "payments", partitions: 2, indexPrefix: "chaos-payments", appMaxTps: 1_000_000 },
    { kafkaTopic: "audit", partitions: 1, indexPrefix: "chaos-audit", appMaxTps: 1_000_000 },
    // Rate-limited near its share of the traffic: bursts after outages meet 429 / RESOURCE_EXHAUSTED. The window
    // (10 s × tps) must hold the largest batch twice: a batch larger than the window is refused forever (FINDINGS.md).
    {
      kafkaTopic: "search",
      partitions: 4,
      indexPrefix: "chaos-search",
      appMaxTps: Math.max(Math.ceil(options.maxBatch / 5), Math.ceil((rate / 4) * 1.5)),
    },
  ];
  const kafkaTopics = topics.map((t) => `${prefix}${t.kafkaTopic}_logs`);

  say(
    `run ${run}: ${options.logs} logs at ~${fmt(rate)} logs/s (${plannedSeconds}s planned), faults: ${options.faults.join(", ") || "none"}; seed ${options.seed}`,
  );
  say(`run directory ${options.outDir}`);

  // ---- cleanup, whatever happens
  const apps: AppProcess[] = [];
  let stackStarted = false;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await Promise.all(apps.map((app) => app.stop(15_000).catch(() => undefined)));
      for (const app of apps) app.close();
      if (stackStarted && !options.keepStack) {
        say("stopping the private stack");
        await stackDown({ config, log: stackLog }).catch((error) => say(`stack down failed: ${error}`));
      }
    })();
    return cleaning;
  };
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      say(`${signal}: stopping what this run started`);
      void cleanup().then(() => process.exit(130));
    });
  }

  const unexpectedExits: UnexpectedExit[] = [];
  const supervise = (exit: UnexpectedExit) => {
    unexpectedExits.push(exit);
    say(`!! ${exit.app} exited on its own (code ${exit.code}, signal ${exit.signal}); restarting it`);
    const app = apps.find((a) => a.name === exit.app);
    setTimeout(() => {
      if (app && !interrupted && !cleaning) app.start();
    }, 1_000);
  };

  try {
    if (options.build) {
      say("building producer and consumer (turbo, cached)");
      execFileSync(
        "pnpm",
        ["turbo", "run", "build", "--filter=producer...", "--filter=consumer...", "--output-logs=errors-only"],
        { cwd: root, stdio: "inherit" },
      );
    }
    say(
      `private stack in ${options.stackDir}: Kafka :${kafkaPort}, OpenSearch :${opensearchPort}, Redis :${redisPort}`,
    );
    claimStackDir(options.stackDir);
    stackStarted = true;
    await resetStack({ config, log: stackLog });
    await stackUp({ config, log: stackLog });

    const commonEnv = {
      ...process.env,
      NODE_ENV: "production",
      LOG_LEVEL: process.env.CHAOS_APP_LOG_LEVEL ?? "warn",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: "chaos_new_topic_events",
    };
    const producer = new AppProcess({
      name: "producer",
      root,
      app: "producer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: {
        ...commonEnv,
        BARITO_PRODUCER_REST: `127.0.0.1:${restPort}`,
        BARITO_PRODUCER_GRPC: `127.0.0.1:${grpcPort}`,
        EXPORTER_PORT: `127.0.0.1:${producerMetrics}`,
        BARITO_RATE_LIMITER_OPT: "REDIS",
        BARITO_REDIS_URL: `127.0.0.1:${redisPort}`,
        BARITO_REDIS_KEY_PREFIX: `chaos:${run}:`,
      },
    });
    const consumerEnv = (metricsPort: number) => ({
      ...commonEnv,
      BARITO_ELASTICSEARCH_URLS: opensearch,
      BARITO_KAFKA_GROUP_ID: groupId,
      BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
      BARITO_ELASTICSEARCH_BULK_SIZE: "1000",
      BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
      EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
    });
    const consumer = new AppProcess({
      name: "consumer",
      root,
      app: "consumer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: consumerEnv(c1Metrics),
    });
    const consumer2 = new AppProcess({
      name: "consumer2",
      root,
      app: "consumer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: consumerEnv(c2Metrics),
    });
    apps.push(producer, consumer, consumer2);
    producer.start();
    consumer.start();
    if (!(await waitHttpOk(`${restUrl}/readyz`, 60_000))) throw new Error("the producer did not become ready in 60 s");
    if (!(await waitHttpOk(`http://127.0.0.1:${c1Metrics}/healthz`, 60_000)))
      throw new Error("the consumer did not answer /healthz in 60 s");
    say(`producer (pid ${producer.pid}) and consumer (pid ${consumer.pid}) running`);

    // ---- fault schedule, gating the traffic: logs past fault k's threshold wait until fault k has started.
    const faults: FaultRecord[] = [];
    const startedSignals = options.faults.map(() => {
      let resolveStarted: () => void = () => {};
      const promise = new Promise<void>((r) => {
        resolveStarted = r;
      });
      return { promise, resolve: resolveStarted, started: false };
    });
    const gate = async (seq: number) => {
      for (let k = 0; k < thresholds.length; k++) {
        const signal = startedSignals[k] as (typeof startedSignals)[number];
        if (seq >= (thresholds[k] as number) && !signal.started) await signal.promise;
      }
    };

    const traffic = new Traffic({
      root,
      run,
      logs: options.logs,
      rate,
      concurrency: options.concurrency,
      maxBatch: options.maxBatch,
      keyedShare: options.keyedShare,
      topics,
      restUrl,
      grpcUrl: `http://127.0.0.1:${grpcPort}`,
      gate,
      requestDeadlineMs: 300_000,
      seed: options.seed,
    });

    // ---- monitor: indexed events (consumer metrics, across restarts), documents, throughput samples.
    let indexedEvents = 0;
    const lastScrape = new Map<string, number>();
    const indexedTimeline: { at: number; events: number }[] = [];
    const samples: Sample[] = [];
    let activeFault = "";
    let monitorStop = false;
    let lastDocs: number | undefined;
    const monitor = (async () => {
      let tick = 0;
      let prev = { at: Date.now(), acked: 0, events: 0 };
      while (!monitorStop) {
        await sleep(1_000);
        tick++;
        for (const [app, port] of [
          [consumer, c1Metrics],
          [consumer2, c2Metrics],
        ] as const) {
          if (!app.running) continue;
          const value = await scrapeMetricSum(
            `http://127.0.0.1:${port}/metrics`,
            "barito_consumer_log_stored_total",
            'result="indexed"',
          );
          if (value === undefined) continue;
          const key = `${app.name}#${app.starts}`;
          const last = lastScrape.get(key) ?? 0;
          indexedEvents += Math.max(0, value - last);
          lastScrape.set(key, value);
        }
        indexedTimeline.push({ at: Date.now(), events: indexedEvents });
        if (tick % 5 === 0) {
          lastDocs = await countDocs(opensearch, "chaos-*");
          const now = Date.now();
          const secs = (now - prev.at) / 1000;
          const sample: Sample = {
            t: since(now),
            acked: traffic.stats.acked,
            ackedPerSec: Math.round((traffic.stats.acked - prev.acked) / secs),
            indexedEvents,
            indexedPerSec: Math.round((indexedEvents - prev.events) / secs),
            docs: lastDocs,
            errors: traffic.stats.errors,
            fault: activeFault,
          };
          samples.push(sample);
          prev = { at: now, acked: traffic.stats.acked, events: indexedEvents };
          say(
            `sent ${fmt(traffic.progress)}/${fmt(options.logs)} acked ${fmt(sample.acked)} (${fmt(sample.ackedPerSec)}/s) indexed ${fmt(indexedEvents)} (${fmt(sample.indexedPerSec)}/s) docs ${lastDocs === undefined ? "?" : fmt(lastDocs)} errors ${traffic.stats.errors} retries ${traffic.stats.retries}${activeFault ? ` [${activeFault}]` : ""}`,
          );
        }
      }
    })();
    const indexingResumedAfter = async (at: number, timeoutMs: number): Promise<number | undefined> => {
      const base = indexedTimeline.findLast((p) => p.at <= at)?.events ?? 0;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = indexedTimeline.find((p) => p.at > at && p.events > base);
        if (hit) return hit.at;
        await sleep(250);
      }
      return undefined;
    };

    const runFault = async (kind: FaultKind, record: FaultRecord) => {
      const errorsAtStart = traffic.stats.errors;
      const lift = (note?: string) => {
        record.liftedAt = since();
        if (note) record.notes.push(note);
        return Date.now();
      };
      let liftedAt = Date.now();
      switch (kind) {
        case "consumer-kill": {
          const pid = consumer.pid;
          await consumer.kill();
          record.notes.push(`consumer pid ${pid} SIGKILLed`);
          await sleep(holdOf(kind) * 1000);
          liftedAt = lift();
          consumer.start();
          record.notes.push(`restarted as pid ${consumer.pid}`);
          break;
        }
        case "producer-kill": {
          const pid = producer.pid;
          await producer.kill();
          record.notes.push(`producer pid ${pid} SIGKILLed`);
          await sleep(holdOf(kind) * 1000);
          liftedAt = lift();
          producer.start();
          record.notes.push(`restarted as pid ${producer.pid}`);
          break;
        }
        case "consumer2-start":
          liftedAt = lift();
          consumer2.start();
          record.notes.push(`second consumer pid ${consumer2.pid} joins group ${groupId}`);
          break;
        case "consumer2-stop": {
          const pid = consumer2.pid;
          liftedAt = lift();
          const how = await consumer2.stop();
          record.notes.push(`second consumer pid ${pid} SIGTERM: ${how} (exit code ${consumer2.exitCode()})`);
          break;
        }
        case "opensearch-stop":
        case "kafka-stop":
        case "redis-stop":
        case "opensearch-kill":
        case "kafka-kill": {
          const component = kind.replace(/-(stop|kill)$/, "") as "opensearch" | "kafka" | "redis";
          // -stop: SIGTERM (clean shutdown); -kill: SIGKILL (a crash; data in the page cache survives).
          const outcome = await stopComponent(component, { config, log: stackLog, force: kind.endsWith("-kill") });
          record.notes.push(`${component} ${outcome}`);
          await sleep(holdOf(kind) * 1000);
          if (kind === "redis-stop") {
            const fallback = await scrapeMetricSum(
              `http://127.0.0.1:${producerMetrics}/metrics`,
              "barito_producer_rate_limiter_fallback_total",
            );
            record.notes.push(`producer rate_limiter_fallback_total=${fallback ?? "?"} while Redis was down`);
          }
          liftedAt = lift();
          const started = Date.now();
          await startComponent(component, { config, log: stackLog });
          record.restoredAt = since();
          record.notes.push(`${component} ready again after ${((Date.now() - started) / 1000).toFixed(1)}s`);
          break;
        }
      }
      // Recovery (bounded): the first successful request after a fault of the producer path, the first document
      // indexed after a fault of the consumer path.
      const producerPath = kind === "producer-kill" || kind.startsWith("kafka") || kind === "redis-stop";
      const consumerPath = kind !== "producer-kill" && kind !== "redis-stop";
      const [ack, indexed] = await Promise.all([
        producerPath
          ? Promise.race([traffic.firstAckAfter(liftedAt), sleep(120_000).then(() => undefined)])
          : undefined,
        consumerPath ? indexingResumedAfter(liftedAt, 120_000) : undefined,
      ]);
      if (ack !== undefined) record.firstAckAfterLift = Math.round((ack - liftedAt) / 100) / 10;
      if (indexed !== undefined) record.indexingResumedAfterLift = Math.round((indexed - liftedAt) / 100) / 10;
      record.clientErrors = traffic.stats.errors - errorsAtStart;
    };

    // Faults run one after the other: each starts when the traffic reaches its threshold, and the next one waits
    // until this one is lifted and its recovery measured (bounded), so recovery times are attributable.
    const faultLoop = (async () => {
      for (let k = 0; k < options.faults.length; k++) {
        const kind = options.faults[k] as FaultKind;
        while (traffic.progress < (thresholds[k] as number) && !traffic.done) await sleep(100);
        const record: FaultRecord = {
          kind,
          plannedAt: Math.round((options.gapSeconds + slots.slice(0, k).reduce((a, b) => a + b, 0)) * 10) / 10,
          startedAt: since(),
          notes: [],
        };
        faults.push(record);
        activeFault = kind;
        say(`FAULT ${k + 1}/${options.faults.length}: ${kind}`);
        const signal = startedSignals[k] as (typeof startedSignals)[number];
        signal.started = true;
        signal.resolve();
        await runFault(kind, record).catch((error) => {
          record.notes.push(`fault failed: ${(error as Error).message}`);
        });
        activeFault = "";
        say(
          `fault ${kind} lifted at ${record.liftedAt ?? "?"}s: first ack ${record.firstAckAfterLift === undefined ? "-" : `+${record.firstAckAfterLift}s`}, indexing resumed ${record.indexingResumedAfterLift === undefined ? "-" : `+${record.indexingResumedAfterLift}s`}, ${record.clientErrors ?? "?"} client errors`,
        );
      }
    })();

    say(`traffic: ${options.concurrency} concurrent requests, batches of 1..${options.maxBatch}`);
    await traffic.run();
    say(
      `traffic done: ${traffic.stats.acked} acknowledged, ${traffic.stats.failed} failed, ${traffic.stats.rejected} rejected, ${traffic.stats.resentLogs} resent under new ids`,
    );
    await faultLoop;

    // ---- catch up: every log topic fully committed by the group, and the document count stable.
    const probe = new KafkaProbe(root, brokers);
    const catchupStarted = Date.now();
    let caughtUp = false;
    let stableCount = -1;
    let stableSince = 0;
    let lastPrint = 0;
    while (Date.now() - catchupStarted < options.catchupTimeoutSeconds * 1000) {
      const lag = await probe.lag(groupId, kafkaTopics);
      const docs = await countDocs(opensearch, "chaos-*");
      if (docs !== stableCount) {
        stableCount = docs ?? -1;
        stableSince = Date.now();
      }
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        say(
          `catching up: lag ${lag?.total ?? "?"} of ${lag?.records ?? "?"} records, ${docs ?? "?"} documents (acknowledged ${traffic.stats.acked})`,
        );
      }
      if (lag && lag.total === 0 && docs !== undefined && Date.now() - stableSince > 3_000) {
        caughtUp = true;
        break;
      }
      await sleep(1_000);
    }
    const catchupSeconds = Math.round((Date.now() - catchupStarted) / 100) / 10;
    say(caughtUp ? `consumer caught up in ${catchupSeconds}s` : `consumer did NOT catch up in ${catchupSeconds}s`);
    monitorStop = true;
    await monitor;

    // ---- verify
    await refresh(opensearch, "chaos-*");
    say("reading every document back from OpenSearch");
    const ledger = {
      run,
      state: traffic.state,
      topicOf: traffic.topicOf,
      capacity: traffic.nextExtra,
      topics,
    };
    const verdict = await verifyIndices(opensearch, "chaos-*", ledger);
    const { missing, duplicated, corrupted, wrongIndex, unexpected, rejectedPresent } = verdict;
    const indices = await listIndices(opensearch);
    const foreignIndices = indices.filter((i) => !topics.some((t) => i.index.startsWith(`${t.indexPrefix}-`)));
    const dlqRecords = await probe.topicRecords(dlqTopic).catch(() => -1);
    const dlqSamples = dlqRecords > 0 ? await probe.readDlq(dlqTopic, dlqRecords, 20).catch(() => []) : [];
    await probe.close();
    let oracleSelfCheck: { ok: boolean; detail: string } | undefined;
    if (options.selfCheck) {
      say("self-check: planting a missing, a duplicated, a corrupted and an unknown document, verifying again");
      oracleSelfCheck = await selfCheck(opensearch, "chaos-*", ledger, verdict).catch((error) => ({
        ok: false,
        detail: `self-check failed: ${(error as Error).message}`,
      }));
      say(`self-check: ${oracleSelfCheck.ok ? "ok" : "FAILED"}: ${oracleSelfCheck.detail}`);
    }

    const stats = traffic.stats;
    const invariants = [
      { name: "every acknowledged log is indexed", ok: missing === 0, detail: `${missing} missing` },
      { name: "no log is indexed twice", ok: duplicated === 0, detail: `${duplicated} duplicated` },
      { name: "indexed content is intact", ok: corrupted === 0, detail: `${corrupted} corrupted` },
      { name: "documents are in their app's index", ok: wrongIndex === 0, detail: `${wrongIndex} in another index` },
      {
        name: "nothing else is indexed",
        ok: unexpected === 0 && rejectedPresent === 0 && foreignIndices.length === 0,
        detail: `${unexpected} unknown documents, ${rejectedPresent} refused-but-present, ${foreignIndices.length} other indices`,
      },
      { name: "dead-letter topic is empty", ok: dlqRecords === 0, detail: `${dlqRecords} dead-lettered` },
      {
        name: "valid requests are never refused (4xx)",
        ok: stats.unexpectedRefusals.length === 0,
        detail: `${stats.unexpectedRefusals.length} refused`,
      },
      { name: "keyed requests eventually succeed", ok: stats.gaveUp === 0, detail: `${stats.gaveUp} logs gave up` },
      {
        name: "apps exit only when told to",
        ok: unexpectedExits.length === 0,
        detail: `${unexpectedExits.length} unexpected exits`,
      },
      { name: "the consumer catches up", ok: caughtUp, detail: `${catchupSeconds}s` },
      {
        name: "every scheduled fault ran",
        ok:
          faults.length === options.faults.length &&
          faults.every((f) => !f.notes.some((n) => n.startsWith("fault failed"))),
        detail: `${faults.length}/${options.faults.length}`,
      },
    ];
    if (oracleSelfCheck)
      invariants.push({
        name: "the oracle detects planted faults",
        ok: oracleSelfCheck.ok,
        detail: oracleSelfCheck.detail,
      });
    const passed = invariants.every((i) => i.ok);
    const report = {
      run,
      passed,
      startedAt: new Date(t0).toISOString(),
      seconds: since(),
      options: { ...options, rate: Math.round(rate), plannedSeconds },
      ports: { kafka: kafkaPort, opensearch: opensearchPort, redis: redisPort, rest: restPort, grpc: grpcPort },
      sent: {
        logs: options.logs,
        logsIncludingResends: stats.logsSent,
        requests: stats.requests,
        requestsByProtocol: stats.requestsByProtocol,
        keyedRequests: stats.keyedRequests,
        keylessRequests: stats.keylessRequests,
        retries: stats.retries,
        clientErrors: stats.errors,
        clientErrorsByKind: stats.errorsByKind,
      },
      acknowledged: stats.acked,
      failed: {
        logs: stats.failed,
        presentOnce: verdict.failedPresent,
        absent: verdict.failedAbsent,
        resentUnderNewIds: stats.resentLogs,
      },
      rejected: stats.rejected,
      gaveUp: stats.gaveUp,
      indexed: { documents: verdict.documents, acknowledgedPresent: verdict.ackedPresent, indices },
      missing,
      duplicated,
      corrupted,
      wrongIndex,
      unexpected: { documents: unexpected, refusedButPresent: rejectedPresent, foreignIndices },
      deadLettered: dlqRecords,
      dlqSamples,
      samples: { ...verdict.samples, refused: stats.unexpectedRefusals.slice(0, 20) },
      oracleSelfCheck,
      catchUpSeconds: catchupSeconds,
      faults,
      unexpectedExits: unexpectedExits.map((e) => ({ ...e, at: since(e.at) })),
      throughput: samples,
      invariants,
    };
    const reportFile = join(options.outDir, "report.json");
    writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    if (options.report) {
      mkdirSync(dirname(options.report), { recursive: true });
      copyFileSync(reportFile, options.report);
    }
    printReport(report);
    say(`report: ${reportFile}${options.report ? ` (and ${options.report})` : ""}`);
    return passed ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/** One run per private stack directory: a second run would reset (stop) the first one's stack. */
function claimStackDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "chaos-run.pid");
  try {
    const holder = Number(readFileSync(lock, "utf8").trim());
    if (Number.isInteger(holder) && holder > 1 && holder !== process.pid) {
      let alive = true;
      try {
        process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (alive && readFileSync(`/proc/${holder}/cmdline`, "utf8").includes("chaos"))
        throw new Error(`another chaos run (pid ${holder}) uses ${dir}; wait for it or pass --stack-dir`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  writeFileSync(lock, `${process.pid}\n`);
}

// biome-ignore lint/suspicious/noExplicitAny: the report is printed field by field
function printReport(r: any): void {
  const lines: string[] = [];
  lines.push("", `=== chaos report ${r.run}: ${r.passed ? "PASSED" : "FAILED"} (${r.seconds}s) ===`);
  lines.push(
    `sent          ${r.sent.logs} logs (${r.sent.logsIncludingResends} with resends) in ${r.sent.requests} requests (${r.sent.keyedRequests} with Idempotency-Key, ${r.sent.keylessRequests} without)`,
  );
  lines.push(
    `              ${Object.entries(r.sent.requestsByProtocol)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  lines.push(
    `client errors ${r.sent.clientErrors} (${r.sent.retries} retries): ${
      Object.entries(r.sent.clientErrorsByKind)
        .map(([k, v]) => `${k} ×${v}`)
        .join(", ") || "none"
    }`,
  );
  lines.push(`acknowledged  ${r.acknowledged}`);
  lines.push(
    `failed        ${r.failed.logs} keyless logs (${r.failed.presentOnce} present once, ${r.failed.absent} absent), resent as ${r.failed.resentUnderNewIds} new ids; rejected ${r.rejected}; gave up ${r.gaveUp}`,
  );
  lines.push(
    `indexed       ${r.indexed.documents} documents (${r.indexed.acknowledgedPresent} acknowledged logs found)`,
  );
  lines.push(`missing       ${r.missing}`);
  lines.push(`duplicated    ${r.duplicated}`);
  lines.push(`corrupted     ${r.corrupted}`);
  lines.push(
    `unexpected    ${r.unexpected.documents} documents, ${r.unexpected.refusedButPresent} refused-but-present, ${r.unexpected.foreignIndices.length} other indices`,
  );
  lines.push(`dead-lettered ${r.deadLettered}`);
  lines.push(`catch-up      ${r.catchUpSeconds}s after the traffic ended`);
  lines.push("", "fault                 at(s)  lifted  ready   first ack  indexing  client errors  notes");
  for (const f of r.faults) {
    const col = (v: unknown, w: number) => String(v ?? "-").padEnd(w);
    lines.push(
      `${col(f.kind, 21)} ${col(f.startedAt, 6)} ${col(f.liftedAt, 7)} ${col(f.restoredAt, 7)} ${col(f.firstAckAfterLift === undefined ? undefined : `+${f.firstAckAfterLift}s`, 10)} ${col(f.indexingResumedAfterLift === undefined ? undefined : `+${f.indexingResumedAfterLift}s`, 9)} ${col(f.clientErrors, 14)} ${f.notes.join("; ")}`,
    );
  }
  if (r.unexpectedExits.length > 0)
    lines.push(
      "",
      `unexpected exits: ${r.unexpectedExits.map((e: UnexpectedExit) => `${e.app} at ${e.at}s code ${e.code} signal ${e.signal}`).join("; ")}`,
    );
  lines.push("", "throughput (every 5 s): t acked/s indexed/s [fault]");
  const cells = r.throughput.map(
    (s: Sample) => `${s.t}s ${s.ackedPerSec}/${s.indexedPerSec}${s.fault ? ` [${s.fault}]` : ""}`,
  );
  for (let i = 0; i < cells.length; i += 5) lines.push(`  ${cells.slice(i, i + 5).join(" | ")}`);
  lines.push("", "invariants:");
  for (const i of r.invariants) lines.push(`  ${i.ok ? "ok  " : "FAIL"} ${i.name} (${i.detail})`);
  for (const [name, list] of Object.entries(r.samples as Record<string, unknown[]>))
    if (list.length > 0)
      lines.push(
        `  ${name} samples: ${list
          .slice(0, 5)
          .map((x) => JSON.stringify(x))
          .join(", ")}`,
      );
  if (r.dlqSamples.length > 0)
    lines.push(
      `  dead-letter samples: ${r.dlqSamples
        .slice(0, 3)
        .map((x: unknown) => JSON.stringify(x))
        .join(", ")}`,
    );
  console.log(lines.join("\n"));
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(`[chaos] error: ${(error as Error).stack ?? error}`);
      process.exit(3);
    },
  );
}
