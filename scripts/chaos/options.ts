// `pnpm chaos` options: the fault kinds, the defaults and the command line.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { printReport } from "./report.ts";

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
/** `--cluster`: faults of a 3-broker, 2-search-node cluster with replicated apps (cluster-faults.ts). */
export const CLUSTER_FAULT_KINDS = [
  "leader-kill",
  "opensearch-stop",
  "consumers-scale-up",
  "controller-stop",
  "producers-rolling",
  "brokers-rolling",
  "two-brokers-down",
  "opensearch-kill",
  "consumers-scale-down",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof CLUSTER_FAULT_KINDS)[number];
const CI_CLUSTER_FAULTS: FaultKind[] = ["leader-kill", "opensearch-stop", "producers-rolling"];
// Every kind in the order above up to redis-stop, then a second consumer kill (the crashes stay opt-in).
const DEFAULT_FAULTS: FaultKind[] = [...FAULT_KINDS.slice(0, FAULT_KINDS.indexOf("redis-stop") + 1), "consumer-kill"];

export interface Options {
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
  /** Run on the private cluster (3 brokers, 2 search nodes, replicated apps) instead of the single-node stack. */
  cluster: boolean;
  producers: number;
  consumers: number;
  /** With --cluster: every log to one topic of one partition (the per-partition limits). */
  onePartition: boolean;
}

const USAGE = `usage: pnpm chaos [options]
  --cluster                the cluster run: 3 brokers (RF 3, min.insync 2), 2 OpenSearch nodes, 3 producer and up to
                           3 consumer replicas; defaults 1000000 logs at 5000 logs/s, 32 concurrent requests, faults
                           ${CLUSTER_FAULT_KINDS.join(",")}
  --ci                     with --cluster: the CI size (20000 logs at 1000/s; ${CI_CLUSTER_FAULTS.join(",")})
  --producers N | --consumers N
                           with --cluster and --faults none: replicas for sizing (default 3 and 1)
  --one-partition          with --cluster: every log to one topic of one partition (per-partition limits)
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

type NumberKey = {
  [K in keyof Options]: Options[K] extends number | undefined ? K : never;
}[keyof Options];

/** The numeric flags: the option each sets, its minimum, and whether it is a whole number. */
const NUMBER_FLAGS: Record<string, { key: NumberKey; min: number; whole?: boolean; max?: number }> = {
  "--logs": { key: "logs", min: 1, whole: true },
  "--gap": { key: "gapSeconds", min: 1 },
  "--rate": { key: "rate", min: 1 },
  "--concurrency": { key: "concurrency", min: 1, whole: true },
  "--max-batch": { key: "maxBatch", min: 1, whole: true },
  "--keyed-share": { key: "keyedShare", min: 0, max: 1 },
  "--opensearch-down": { key: "opensearchDownSeconds", min: 0 },
  "--kafka-down": { key: "kafkaDownSeconds", min: 0 },
  "--redis-down": { key: "redisDownSeconds", min: 0 },
  "--catchup-timeout": { key: "catchupTimeoutSeconds", min: 1 },
  "--seed": { key: "seed", min: 0, whole: true },
  "--producers": { key: "producers", min: 1, max: 3, whole: true },
  "--consumers": { key: "consumers", min: 1, max: 3, whole: true },
};

/** The flags that name a file or directory, resolved against the working directory. */
const PATH_FLAGS: Record<string, { key: "outDir" | "report" | "stackDir"; what: string }> = {
  "--out": { key: "outDir", what: "a directory" },
  "--report": { key: "report", what: "a file" },
  "--stack-dir": { key: "stackDir", what: "a directory" },
};

export function parseOptions(argv: string[], root: string): Options {
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
    cluster: false,
    producers: 3,
    consumers: 1,
    onePartition: false,
  };
  // The cluster's defaults come first, so that explicit flags (in any order) override them.
  if (argv.includes("--cluster")) {
    const ci = argv.includes("--ci");
    Object.assign(options, {
      cluster: true,
      logs: ci ? 20_000 : 1_000_000,
      rate: ci ? 1_000 : 5_000,
      faults: ci ? CI_CLUSTER_FAULTS : [...CLUSTER_FAULT_KINDS],
      concurrency: ci ? 8 : 32,
      gapSeconds: ci ? 6 : 3,
      opensearchDownSeconds: 30,
      // A million logs leave a backlog of minutes when the search nodes are the bottleneck.
      catchupTimeoutSeconds: ci ? 300 : 900,
      stackDir: join(root, ".chaos", "cluster"),
    });
  } else if (argv.includes("--ci")) usage("--ci needs --cluster");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=") ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    const numeric = NUMBER_FLAGS[flag];
    if (numeric) {
      const raw = value();
      const parsed = Number(raw);
      if (raw === undefined || !Number.isFinite(parsed) || parsed < numeric.min)
        usage(`${flag} needs a number >= ${numeric.min}`);
      const whole = numeric.whole ? Math.floor(parsed) : parsed;
      options[numeric.key] = numeric.max === undefined ? whole : Math.min(numeric.max, whole);
      continue;
    }
    const path = PATH_FLAGS[flag];
    if (path) {
      options[path.key] = resolve(value() ?? usage(`${flag} needs ${path.what}`));
      continue;
    }
    switch (flag) {
      case "--faults": {
        const list = value() ?? "";
        if (list === "none") options.faults = [];
        else
          options.faults = list.split(",").map((name) => {
            const kinds: readonly string[] = options.cluster ? CLUSTER_FAULT_KINDS : FAULT_KINDS;
            if (!kinds.includes(name)) usage(`unknown fault "${name}"${options.cluster ? " for --cluster" : ""}`);
            return name as FaultKind;
          });
        break;
      }
      case "--cluster":
      case "--ci":
        break;
      case "--one-partition":
        if (!options.cluster) usage("--one-partition needs --cluster");
        options.onePartition = true;
        break;
      case "--keep-stack":
        options.keepStack = true;
        break;
      case "--self-check":
        options.selfCheck = true;
        break;
      case "--no-build":
        options.build = false;
        break;
      case "--print-report": {
        const file = value() ?? usage("--print-report needs a file");
        printReport(JSON.parse(readFileSync(file, "utf8")));
        process.exit(0);
        break;
      }
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
