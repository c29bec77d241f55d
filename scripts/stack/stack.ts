// `pnpm stack up | down | status | logs | reset | start <c> | stop <c> [--cluster]`: the local Kafka + OpenSearch
// + Redis stack without Docker, as one node each or (--cluster) as three Kafka nodes and two OpenSearch nodes.
// Also importable (Node 24 runs .ts directly) by scripts such as the chaos test runner: stackUp(), stackDown(),
// stackStatus(), startComponent(), stopComponent(), resetStack() (operations.ts).
import { writeFileSync } from "node:fs";
import { relock } from "./artifacts.ts";
import type { ComponentStatus, StartOutcome } from "./component.ts";
import {
  CLUSTER_COMPONENT_NAMES,
  COMPONENT_NAMES,
  type ComponentName,
  isClusterComponentName,
  isComponentName,
  loadConfig,
  StackError,
} from "./config.ts";
import {
  componentLogs,
  defaultComponents,
  resetStack,
  stackDown,
  stackStatus,
  stackUp,
  startComponent,
  stopComponent,
} from "./operations.ts";

export type { ComponentStatus, StartOutcome, StopOutcome } from "./component.ts";
export { type ComponentName, loadConfig, type StackConfig, StackError } from "./config.ts";
export * from "./operations.ts";

const USAGE = `usage: pnpm stack <command> [--cluster]
  up [--only kafka,opensearch,redis] [--record-started FILE]
                          start what is not running, wait until ready, print addresses
  down [--only ...] [--force]
                          stop what the stack started (data kept)
  status [--only ...] [--quiet] [--json]
                          state, pid, address, version; --quiet: exit 0 only if kafka, opensearch
                          and redis (or the --only ones) are running
  logs [component] [-n N] last N (default 50) log lines of one or all components
  start <component>       start one component (kafka | opensearch | redis | elasticsearch)
  stop <component> [--force]
                          stop one component (SIGTERM, SIGKILL after 30s; --force: SIGKILL now)
  reset [--only ...]      stop and wipe data and logs (download cache kept)
  relock                  re-resolve the artifacts with Maven and rewrite stack.lock.json
--cluster: every command acts on the cluster instead (components ${CLUSTER_COMPONENT_NAMES.join(", ")}),
     e.g. pnpm stack up --cluster, pnpm stack stop kafka-2 --cluster --force
env: STACK_DIR STACK_CACHE_DIR STACK_MAVEN_REPO STACK_KAFKA_PORT STACK_KAFKA_CONTROLLER_PORT STACK_KAFKA_SASL_PORT
     STACK_OPENSEARCH_PORT STACK_REDIS_PORT STACK_KAFKA_HEAP STACK_OPENSEARCH_HEAP STACK_READY_TIMEOUT STACK_OPENSEARCH_USER
     STACK_ELASTICSEARCH_PORT STACK_ELASTICSEARCH_HEAP STACK_ELASTICSEARCH_VERSION
     cluster: STACK_CLUSTER_DIR STACK_CLUSTER_KAFKA_PORT STACK_CLUSTER_KAFKA_CONTROLLER_PORT STACK_CLUSTER_OPENSEARCH_PORT
     STACK_CLUSTER_OPENSEARCH_TRANSPORT_PORT STACK_CLUSTER_REDIS_PORT STACK_CLUSTER_KAFKA_HEAP STACK_CLUSTER_OPENSEARCH_HEAP
elasticsearch is opt-in: up/status --quiet leave it out unless named (--only elasticsearch, start elasticsearch)`;

interface CliArgs {
  command: string;
  positional: string[];
  only: ComponentName[] | undefined;
  lines: number;
  quiet: boolean;
  json: boolean;
  force: boolean;
  cluster: boolean;
  recordStarted: string | undefined;
}

function parseComponent(value: string, flag: string, cluster: boolean): ComponentName {
  if (cluster ? isClusterComponentName(value) : isComponentName(value)) return value as ComponentName;
  const hint = !cluster && isClusterComponentName(value) ? "; cluster nodes need --cluster" : "";
  throw new StackError(
    "usage",
    `${flag}: unknown component "${value}" (expected one of ${(cluster ? CLUSTER_COMPONENT_NAMES : COMPONENT_NAMES).join(", ")})${hint}`,
  );
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = {
    command: argv[0] ?? "help",
    positional: [],
    only: undefined,
    lines: 50,
    quiet: false,
    json: false,
    force: false,
    cluster: argv.includes("--cluster"),
    recordStarted: undefined,
  };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new StackError("usage", `${arg} needs a value`);
      return next;
    };
    if (arg === "--only" || arg.startsWith("--only=")) {
      const list = arg.includes("=") ? arg.slice("--only=".length) : value();
      args.only = list
        .split(",")
        .filter(Boolean)
        .map((name) => parseComponent(name.trim(), "--only", args.cluster));
    } else if (arg === "-n" || arg === "--lines") {
      const raw = value();
      args.lines = Number(raw);
      if (!Number.isInteger(args.lines) || args.lines < 1)
        throw new StackError("usage", `${arg}: "${raw}" is not a positive integer`);
    } else if (arg === "--quiet" || arg === "-q") args.quiet = true;
    else if (arg === "--json") args.json = true;
    else if (arg === "--force") args.force = true;
    else if (arg === "--cluster") args.cluster = true;
    else if (arg === "--record-started") args.recordStarted = value();
    else if (arg.startsWith("-")) throw new StackError("usage", `unknown option ${arg}`);
    else args.positional.push(arg);
  }
  return args;
}

/** What `status --json` prints for a component: always the same keys, in the same order (pid null when none). */
function statusJson(s: ComponentStatus) {
  return {
    name: s.name,
    state: s.state,
    pid: s.pid ?? null,
    address: s.address,
    version: s.version,
    ...(s.nodeId === undefined ? {} : { nodeId: s.nodeId }),
    owned: s.owned,
    detail: s.detail,
  };
}

function printStatus(statuses: ComponentStatus[]): void {
  const rows = statuses.map((s) => [
    s.name,
    s.state,
    s.pid === undefined ? "-" : String(s.pid),
    s.address,
    s.version || "-",
    s.owned ? "stack" : s.state === "running" ? "external" : "-",
    s.detail,
  ]);
  const header = ["COMPONENT", "STATE", "PID", "ADDRESS", "VERSION", "OWNER", "DETAIL"];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => (row[col] ?? "").length)));
  for (const row of [header, ...rows])
    console.log(
      row.map((cell, col) => (col === row.length - 1 ? cell : (cell ?? "").padEnd(widths[col] ?? 0))).join("  "),
    );
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const config = loadConfig();
  const { cluster } = args;
  const only = args.only ? { only: args.only } : {};
  switch (args.command) {
    case "up": {
      const startedAt = Date.now();
      let outcomes: Partial<Record<ComponentName, StartOutcome>> = {};
      try {
        outcomes = await stackUp({ config, cluster, ...only });
      } catch (error) {
        outcomes = (error as { outcomes?: typeof outcomes }).outcomes ?? {};
        throw error;
      } finally {
        if (args.recordStarted) {
          const started = Object.entries(outcomes)
            .filter(([, o]) => o === "started")
            .map(([name]) => name);
          writeFileSync(args.recordStarted, `${JSON.stringify({ started }, null, 2)}\n`);
        }
      }
      console.log("");
      printStatus(await stackStatus({ config, cluster, ...only }));
      console.log(
        `\n[stack] up in ${((Date.now() - startedAt) / 1000).toFixed(1)}s; data and logs in ${cluster ? config.cluster.dir : config.stackDir}`,
      );
      return 0;
    }
    case "down":
      await stackDown({ config, cluster, force: args.force, ...only });
      return 0;
    case "status": {
      // The table shows the opt-in components too; --quiet/--json only what `up` starts (or --only).
      const statuses = await stackStatus({ config, cluster, includeOptIn: !args.quiet && !args.json, ...only });
      const allRunning = statuses.every((s) => s.state === "running");
      if (args.json) console.log(JSON.stringify(statuses.map(statusJson), null, 2));
      else if (!args.quiet) printStatus(statuses);
      return args.quiet && !allRunning ? 1 : 0;
    }
    case "logs": {
      const names =
        args.positional.length > 0
          ? args.positional.map((p) => parseComponent(p, "logs", cluster))
          : [...defaultComponents(cluster)];
      console.log(names.map((name) => componentLogs(name, args.lines, config, cluster)).join("\n\n"));
      return 0;
    }
    case "start":
    case "stop": {
      const name = args.positional[0];
      if (!name || args.positional.length > 1)
        throw new StackError(
          "usage",
          `${args.command} takes exactly one component (${(cluster ? CLUSTER_COMPONENT_NAMES : COMPONENT_NAMES).join(", ")})`,
        );
      const component = parseComponent(name, args.command, cluster);
      if (args.command === "start") {
        const outcome = await startComponent(component, { config, cluster });
        return outcome === "unavailable" ? 1 : 0;
      }
      await stopComponent(component, { config, cluster, force: args.force });
      return 0;
    }
    case "reset":
      await resetStack({ config, cluster, ...only });
      return 0;
    case "relock":
      await relock(config, (line) => console.log(`[stack] ${line}`));
      return 0;
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      throw new StackError("usage", `unknown command "${args.command}"\n${USAGE}`);
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    const code = error instanceof StackError ? error.code : "internal";
    console.error(`[stack] error (${code}): ${(error as Error).message}`);
    if (!(error instanceof StackError)) console.error((error as Error).stack);
    process.exitCode = code === "usage" ? 2 : 1;
  }
}
