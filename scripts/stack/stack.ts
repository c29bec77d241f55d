// `pnpm stack up | down | status | logs | reset | start <c> | stop <c>`: the local Kafka + OpenSearch + Redis
// stack without Docker. Also importable (Node 24 runs .ts directly) by scripts such as the chaos test runner:
// stackUp(), stackDown(), stackStatus(), startComponent(), stopComponent(), resetStack().
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { relock } from "./artifacts.ts";
import { COMPONENTS, type ComponentStatus, type Log, type StartOutcome, type StopOutcome } from "./components.ts";
import {
  COMPONENT_NAMES,
  type ComponentName,
  DEFAULT_COMPONENTS,
  isComponentName,
  loadConfig,
  type StackConfig,
  StackError,
} from "./config.ts";
import { isAlive, readPid, tailFile } from "./processes.ts";

export { type ComponentName, StackError, type StackConfig, loadConfig } from "./config.ts";
export type { ComponentStatus, StartOutcome, StopOutcome } from "./components.ts";

const defaultLog: Log = (line) => console.log(`[stack] ${line}`);

export interface StackOptions {
  /** Components to act on; kafka, opensearch and redis when omitted (elasticsearch is opt-in: name it). */
  only?: ComponentName[];
  config?: StackConfig;
  log?: Log;
}

/** Serialises stack operations across processes (two test runs calling `up` at once must not both start Kafka). */
async function withStackLock<T>(config: StackConfig, action: () => Promise<T>): Promise<T> {
  mkdirSync(config.stackDir, { recursive: true });
  const lockFile = join(config.stackDir, "operation.lock");
  const deadline = Date.now() + (config.readyTimeoutSec + 120) * 1000;
  let announced = false;
  for (;;) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readPid(lockFile);
      if (holder === undefined || holder === process.pid || !isAlive(holder)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new StackError("busy", `another stack command (pid ${holder}) holds ${lockFile}`);
      if (!announced) {
        console.error(`[stack] waiting for another stack command (pid ${holder}) to finish`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  try {
    return await action();
  } finally {
    if (readPid(lockFile) === process.pid) rmSync(lockFile, { force: true });
  }
}

function selected(
  only: ComponentName[] | undefined,
  fallback: readonly ComponentName[] = DEFAULT_COMPONENTS,
): ComponentName[] {
  return only && only.length > 0 ? COMPONENT_NAMES.filter((name) => only.includes(name)) : [...fallback];
}

export async function stackStatus(options: StackOptions & { includeOptIn?: boolean } = {}): Promise<ComponentStatus[]> {
  const config = options.config ?? loadConfig();
  const names = selected(options.only, options.includeOptIn ? COMPONENT_NAMES : DEFAULT_COMPONENTS);
  return Promise.all(names.map((name) => COMPONENTS[name].status(config)));
}

async function startUnlocked(config: StackConfig, name: ComponentName, log: Log): Promise<StartOutcome> {
  const component = COMPONENTS[name];
  const startedAt = Date.now();
  const outcome = await component.start(config, log);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  if (outcome === "started") log(`${name}: ready on ${component.address(config)} (${seconds}s)`);
  else if (outcome === "already-running") log(`${name}: already running on ${component.address(config)}`);
  else if (outcome === "external")
    log(
      `${name}: using the Redis already running on ${component.address(config)} (not started by the stack, never stopped by it)`,
    );
  return outcome;
}

/** Starts what is not running yet and waits until everything answers. Returns what each component did. */
export async function stackUp(options: StackOptions = {}): Promise<Partial<Record<ComponentName, StartOutcome>>> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? defaultLog;
  const names = selected(options.only);
  return withStackLock(config, async () => {
    // Downloads first and one after the other, so progress lines stay readable; then the JVMs boot in parallel.
    for (const name of names) await COMPONENTS[name].prepare(config, log);
    const results = await Promise.allSettled(names.map((name) => startUnlocked(config, name, log)));
    const outcomes: Partial<Record<ComponentName, StartOutcome>> = {};
    const failures: Error[] = [];
    results.forEach((result, index) => {
      const name = names[index] as ComponentName;
      if (result.status === "fulfilled") outcomes[name] = result.value;
      else failures.push(result.reason as Error);
    });
    if (failures.length > 0) {
      const error = failures[0] as Error;
      if (failures.length > 1)
        error.message += `\n(and ${failures.length - 1} more: ${failures
          .slice(1)
          .map((f) => f.message.split("\n")[0])
          .join("; ")})`;
      Object.assign(error, { outcomes });
      throw error;
    }
    return outcomes;
  });
}

export async function startComponent(
  name: ComponentName,
  options: Omit<StackOptions, "only"> = {},
): Promise<StartOutcome> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? defaultLog;
  return withStackLock(config, () => startUnlocked(config, name, log));
}

async function stopUnlocked(config: StackConfig, name: ComponentName, force: boolean, log: Log): Promise<StopOutcome> {
  const startedAt = Date.now();
  const outcome = await COMPONENTS[name].stop(config, { force });
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  if (outcome === "stopped") log(`${name}: stopped (${seconds}s)`);
  else if (outcome === "killed")
    log(`${name}: killed with SIGKILL (${force ? "--force" : "did not stop after SIGTERM"}, ${seconds}s)`);
  else if (outcome === "not-ours") log(`${name}: left alone (running, but not started by the stack)`);
  else log(`${name}: not running`);
  return outcome;
}

/** Stops one component this stack started. force = SIGKILL at once (a crash, for chaos tests). Data is kept. */
export async function stopComponent(
  name: ComponentName,
  options: Omit<StackOptions, "only"> & { force?: boolean } = {},
): Promise<StopOutcome> {
  const config = options.config ?? loadConfig();
  return withStackLock(config, () => stopUnlocked(config, name, options.force ?? false, options.log ?? defaultLog));
}

/** Stops what the stack started (all selected components, in parallel; opt-in ones too). Data is kept. */
export async function stackDown(
  options: StackOptions & { force?: boolean } = {},
): Promise<Partial<Record<ComponentName, StopOutcome>>> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? defaultLog;
  const names = selected(options.only, COMPONENT_NAMES);
  return withStackLock(config, async () => {
    const outcomes = await Promise.all(names.map((name) => stopUnlocked(config, name, options.force ?? false, log)));
    return Object.fromEntries(names.map((name, index) => [name, outcomes[index]]));
  });
}

/** Stops everything and deletes its data and logs; the download cache stays. */
export async function resetStack(options: StackOptions = {}): Promise<void> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? defaultLog;
  const names = selected(options.only, COMPONENT_NAMES);
  await withStackLock(config, async () => {
    await Promise.all(names.map((name) => stopUnlocked(config, name, false, log)));
    for (const name of names) {
      rmSync(COMPONENTS[name].stateDir(config), { recursive: true, force: true });
      log(`${name}: data and logs wiped (${COMPONENTS[name].stateDir(config)})`);
    }
  });
}

export function componentLogs(name: ComponentName, lines: number, config: StackConfig = loadConfig()): string {
  const parts: string[] = [];
  for (const file of COMPONENTS[name].logFiles(config)) {
    if (!existsSync(file)) continue;
    parts.push(`==> ${file} <==`, ...tailFile(file, lines));
  }
  return parts.length > 0 ? parts.join("\n") : `${name}: no logs yet (${COMPONENTS[name].logFiles(config).join(", ")})`;
}

// ---------------------------------------------------------------------------------------------------- CLI

const USAGE = `usage: pnpm stack <command>
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
env: STACK_DIR STACK_CACHE_DIR STACK_MAVEN_REPO STACK_KAFKA_PORT STACK_KAFKA_CONTROLLER_PORT STACK_KAFKA_SASL_PORT
     STACK_OPENSEARCH_PORT STACK_REDIS_PORT STACK_KAFKA_HEAP STACK_OPENSEARCH_HEAP STACK_READY_TIMEOUT STACK_OPENSEARCH_USER
     STACK_ELASTICSEARCH_PORT STACK_ELASTICSEARCH_HEAP STACK_ELASTICSEARCH_VERSION
elasticsearch is opt-in: up/status --quiet leave it out unless named (--only elasticsearch, start elasticsearch)`;

interface CliArgs {
  command: string;
  positional: string[];
  only: ComponentName[] | undefined;
  lines: number;
  quiet: boolean;
  json: boolean;
  force: boolean;
  recordStarted: string | undefined;
}

function parseComponent(value: string, flag: string): ComponentName {
  if (!isComponentName(value)) {
    throw new StackError(
      "usage",
      `${flag}: unknown component "${value}" (expected one of ${COMPONENT_NAMES.join(", ")})`,
    );
  }
  return value;
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
        .map((name) => parseComponent(name.trim(), "--only"));
    } else if (arg === "-n" || arg === "--lines") {
      const raw = value();
      args.lines = Number(raw);
      if (!Number.isInteger(args.lines) || args.lines < 1)
        throw new StackError("usage", `${arg}: "${raw}" is not a positive integer`);
    } else if (arg === "--quiet" || arg === "-q") args.quiet = true;
    else if (arg === "--json") args.json = true;
    else if (arg === "--force") args.force = true;
    else if (arg === "--record-started") args.recordStarted = value();
    else if (arg.startsWith("-")) throw new StackError("usage", `unknown option ${arg}`);
    else args.positional.push(arg);
  }
  return args;
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
  switch (args.command) {
    case "up": {
      const startedAt = Date.now();
      let outcomes: Partial<Record<ComponentName, StartOutcome>> = {};
      try {
        outcomes = await stackUp({ config, ...(args.only ? { only: args.only } : {}) });
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
      printStatus(await stackStatus({ config, ...(args.only ? { only: args.only } : {}) }));
      console.log(
        `\n[stack] up in ${((Date.now() - startedAt) / 1000).toFixed(1)}s; data and logs in ${config.stackDir}`,
      );
      return 0;
    }
    case "down":
      await stackDown({ config, force: args.force, ...(args.only ? { only: args.only } : {}) });
      return 0;
    case "status": {
      // The table shows the opt-in components too; --quiet/--json only what `up` starts (or --only).
      const statuses = await stackStatus({
        config,
        includeOptIn: !args.quiet && !args.json,
        ...(args.only ? { only: args.only } : {}),
      });
      const allRunning = statuses.every((s) => s.state === "running");
      if (args.json) console.log(JSON.stringify(statuses, null, 2));
      else if (!args.quiet) printStatus(statuses);
      return args.quiet && !allRunning ? 1 : 0;
    }
    case "logs": {
      const names =
        args.positional.length > 0 ? args.positional.map((p) => parseComponent(p, "logs")) : [...DEFAULT_COMPONENTS];
      console.log(names.map((name) => componentLogs(name, args.lines, config)).join("\n\n"));
      return 0;
    }
    case "start":
    case "stop": {
      const name = args.positional[0];
      if (!name || args.positional.length > 1)
        throw new StackError("usage", `${args.command} takes exactly one component (${COMPONENT_NAMES.join(", ")})`);
      const component = parseComponent(name, args.command);
      if (args.command === "start") {
        const outcome = await startComponent(component, { config });
        return outcome === "unavailable" ? 1 : 0;
      }
      await stopComponent(component, { config, force: args.force });
      return 0;
    }
    case "reset":
      await resetStack({ config, ...(args.only ? { only: args.only } : {}) });
      return 0;
    case "relock":
      await relock(config, defaultLog);
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
