// What `pnpm stack` does, as functions (Node 24 runs .ts directly, so scripts such as the chaos runner import them
// through stack.ts): up, down, status, start/stop of one component, reset and logs, on the single-node stack or,
// with `cluster: true`, on the cluster (cluster.ts). Each stack serialises its operations with a lock in its own
// directory, so the two never wait for each other.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyClusterIndexDefaults, CLUSTER_COMPONENTS } from "./cluster.ts";
import type { Component, ComponentStatus, Log, StartOutcome, StopOutcome } from "./component.ts";
import { COMPONENTS } from "./components.ts";
import {
  CLUSTER_COMPONENT_NAMES,
  COMPONENT_NAMES,
  type ComponentName,
  clusterView,
  DEFAULT_COMPONENTS,
  loadConfig,
  type StackConfig,
  StackError,
} from "./config.ts";
import { isAlive, readPid, tailFile } from "./processes.ts";

const defaultLog: Log = (line) => console.log(`[stack] ${line}`);

export interface StackOptions {
  /** Components to act on; kafka, opensearch and redis when omitted (elasticsearch is opt-in: name it). */
  only?: ComponentName[];
  config?: StackConfig;
  log?: Log;
  /** Act on the cluster (kafka-1..3, opensearch-1..2, its Redis) instead of the single-node stack. */
  cluster?: boolean;
}

/** One of the two stacks: the config its components run under, its components, and which of them `up` starts. */
interface Topology {
  config: StackConfig;
  components: Partial<Record<ComponentName, Component>>;
  all: readonly ComponentName[];
  defaults: readonly ComponentName[];
  cluster: boolean;
}

function topology(options: Pick<StackOptions, "config" | "cluster">): Topology {
  const config = options.config ?? loadConfig();
  if (options.cluster)
    return {
      config: clusterView(config),
      components: CLUSTER_COMPONENTS,
      all: CLUSTER_COMPONENT_NAMES,
      defaults: CLUSTER_COMPONENT_NAMES,
      cluster: true,
    };
  return { config, components: COMPONENTS, all: COMPONENT_NAMES, defaults: DEFAULT_COMPONENTS, cluster: false };
}

function component(stack: Topology, name: ComponentName): Component {
  const found = stack.components[name];
  if (!found)
    throw new StackError(
      "usage",
      `unknown component "${name}" ${stack.cluster ? "in the cluster" : "(cluster nodes need --cluster)"} (expected one of ${stack.all.join(", ")})`,
    );
  return found;
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
  stack: Topology,
  only: ComponentName[] | undefined,
  fallback: readonly ComponentName[] = stack.defaults,
): ComponentName[] {
  if (!only || only.length === 0) return [...fallback];
  for (const name of only) component(stack, name);
  return stack.all.filter((name) => only.includes(name));
}

export async function stackStatus(options: StackOptions & { includeOptIn?: boolean } = {}): Promise<ComponentStatus[]> {
  const stack = topology(options);
  const names = selected(stack, options.only, options.includeOptIn ? stack.all : stack.defaults);
  return Promise.all(names.map((name) => component(stack, name).status(stack.config)));
}

async function startUnlocked(stack: Topology, name: ComponentName, log: Log): Promise<StartOutcome> {
  const { config } = stack;
  const target = component(stack, name);
  const startedAt = Date.now();
  const outcome = await target.start(config, log);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  if (outcome === "started") log(`${name}: ready on ${target.address(config)} (${seconds}s)`);
  else if (outcome === "already-running") log(`${name}: already running on ${target.address(config)}`);
  else if (outcome === "external")
    log(
      `${name}: using the Redis already running on ${target.address(config)} (not started by the stack, never stopped by it)`,
    );
  return outcome;
}

/** Starts what is not running yet and waits until everything answers. Returns what each component did. */
export async function stackUp(options: StackOptions = {}): Promise<Partial<Record<ComponentName, StartOutcome>>> {
  const stack = topology(options);
  const log = options.log ?? defaultLog;
  const names = selected(stack, options.only);
  return withStackLock(stack.config, async () => {
    // Downloads first and one after the other, so progress lines stay readable; then the JVMs boot in parallel
    // (a cluster's nodes must: a Kafka node is ready only once a quorum of voters runs).
    for (const name of names) await component(stack, name).prepare(stack.config, log);
    const results = await Promise.allSettled(names.map((name) => startUnlocked(stack, name, log)));
    const outcomes: Partial<Record<ComponentName, StartOutcome>> = {};
    const failures: Error[] = [];
    results.forEach((result, index) => {
      const name = names[index] as ComponentName;
      if (result.status === "fulfilled") outcomes[name] = result.value;
      else failures.push(result.reason as Error);
    });
    if (failures.length === 0 && stack.cluster && names.includes("opensearch-1"))
      await applyClusterIndexDefaults(stack.config, log).catch((error: Error) => failures.push(error));
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
  const stack = topology(options);
  const log = options.log ?? defaultLog;
  return withStackLock(stack.config, () => startUnlocked(stack, name, log));
}

async function stopUnlocked(stack: Topology, name: ComponentName, force: boolean, log: Log): Promise<StopOutcome> {
  const startedAt = Date.now();
  const outcome = await component(stack, name).stop(stack.config, { force });
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
  const stack = topology(options);
  return withStackLock(stack.config, () =>
    stopUnlocked(stack, name, options.force ?? false, options.log ?? defaultLog),
  );
}

/** Stops what the stack started (all selected components, in parallel; opt-in ones too). Data is kept. */
export async function stackDown(
  options: StackOptions & { force?: boolean } = {},
): Promise<Partial<Record<ComponentName, StopOutcome>>> {
  const stack = topology(options);
  const log = options.log ?? defaultLog;
  const names = selected(stack, options.only, stack.all);
  return withStackLock(stack.config, async () => {
    const outcomes = await Promise.all(names.map((name) => stopUnlocked(stack, name, options.force ?? false, log)));
    return Object.fromEntries(names.map((name, index) => [name, outcomes[index]]));
  });
}

/** Stops everything and deletes its data and logs; the download cache stays. */
export async function resetStack(options: StackOptions = {}): Promise<void> {
  const stack = topology(options);
  const log = options.log ?? defaultLog;
  const names = selected(stack, options.only, stack.all);
  await withStackLock(stack.config, async () => {
    await Promise.all(names.map((name) => stopUnlocked(stack, name, false, log)));
    for (const name of names) {
      const dir = component(stack, name).stateDir(stack.config);
      rmSync(dir, { recursive: true, force: true });
      log(`${name}: data and logs wiped (${dir})`);
    }
    // A cluster reset as a whole starts a new Kafka cluster: its nodes are formatted with a new shared id.
    if (stack.cluster && names.length === stack.all.length)
      rmSync(join(stack.config.stackDir, "kafka-cluster-id"), { force: true });
  });
}

export function componentLogs(
  name: ComponentName,
  lines: number,
  config: StackConfig = loadConfig(),
  cluster = false,
): string {
  const stack = topology({ config, cluster });
  const files = component(stack, name).logFiles(stack.config);
  const parts: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    parts.push(`==> ${file} <==`, ...tailFile(file, lines));
  }
  return parts.length > 0 ? parts.join("\n") : `${name}: no logs yet (${files.join(", ")})`;
}

/** The components `logs` shows when none is named. */
export function defaultComponents(cluster: boolean): readonly ComponentName[] {
  return cluster ? CLUSTER_COMPONENT_NAMES : DEFAULT_COMPONENTS;
}
