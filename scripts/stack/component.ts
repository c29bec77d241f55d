// What every component of the local stack offers (start detached, recognise its own process, probe readiness with
// its own protocol, stop only what this stack started), and the steps they share.
import { type ComponentName, type StackConfig, StackError } from "./config.ts";
import {
  isAlive,
  isPortOpen,
  ownedPid,
  portOwner,
  portOwnerPid,
  removePid,
  stopProcess,
  tailFile,
} from "./processes.ts";

export type ComponentState = "running" | "starting" | "stopped" | "unavailable";

export interface ComponentStatus {
  name: ComponentName;
  state: ComponentState;
  /** Process id, ours or (for an external Redis) whoever listens on the port. */
  pid: number | undefined;
  /** True when this stack started the process (so `down` will stop it). */
  owned: boolean;
  address: string;
  version: string;
  /** The broker id, for Kafka nodes. */
  nodeId?: number;
  detail: string;
}

export type StartOutcome = "started" | "already-running" | "external" | "unavailable";
export type StopOutcome = "stopped" | "killed" | "not-running" | "not-ours";

export type Log = (line: string) => void;

export interface Component {
  name: ComponentName;
  address(config: StackConfig): string;
  status(config: StackConfig): Promise<ComponentStatus>;
  /** Downloads/extracts what start needs; separate so `up` can show download progress before parallel starts. */
  prepare(config: StackConfig, log: Log): Promise<void>;
  start(config: StackConfig, log: Log): Promise<StartOutcome>;
  stop(config: StackConfig, options: { force?: boolean }): Promise<StopOutcome>;
  /** Main log first; the process's own stdout/stderr capture after it. */
  logFiles(config: StackConfig): string[];
  /** Everything `reset` wipes for this component. */
  stateDir(config: StackConfig): string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const TAIL_LINES = 30;

function describeTail(files: string[]): string {
  const parts: string[] = [];
  for (const file of files) {
    const lines = tailFile(file, TAIL_LINES);
    if (lines.length > 0) parts.push(`--- last ${lines.length} lines of ${file} ---\n${lines.join("\n")}`);
  }
  return parts.length > 0 ? parts.join("\n") : `(no log output in ${files.join(", ")})`;
}

export async function ensurePortFree(config: StackConfig, port: number, envName: string, what: string): Promise<void> {
  if (!(await isPortOpen(config.host, port, 500))) return;
  const owner = portOwner(port);
  throw new StackError(
    "port_in_use",
    `port ${port} (${what}) on ${config.host} is already taken by ${owner ?? "another process"}; stop it or choose another port with ${envName}`,
  );
}

/** Polls the probe until it succeeds; fails fast if the process died, stops it if it never became ready. */
export async function waitReady(
  config: StackConfig,
  component: Component,
  pid: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + config.readyTimeoutSec * 1000;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new StackError(
        "component_exited",
        `${component.name} (pid ${pid}) exited during startup\n${describeTail(component.logFiles(config))}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(500);
  }
  await stopProcess(pid, 10_000);
  throw new StackError(
    "not_ready",
    `${component.name} did not become ready on ${component.address(config)} within ${config.readyTimeoutSec}s (STACK_READY_TIMEOUT)${lastError ? `; last probe error: ${lastError}` : ""}; it was stopped again\n${describeTail(component.logFiles(config))}`,
  );
}

/** Stops the process of `pidFile` if it is ours (its command line carries `marker`); forgets a stale pid file. */
export async function stopOwned(
  pidFile: string,
  marker: string,
  graceMs: number,
  force: boolean | undefined,
): Promise<StopOutcome | undefined> {
  const pid = ownedPid(pidFile, marker);
  if (pid === undefined) {
    removePid(pidFile);
    return undefined;
  }
  const outcome = await stopProcess(pid, graceMs, force);
  removePid(pidFile);
  return outcome;
}

/** The status of a component none of whose processes is ours: stopped, or its port taken by someone else. */
export async function stoppedStatus<T extends { name: ComponentName; address: string; version: string }>(
  config: StackConfig,
  port: number,
  base: T,
  idleDetail = "",
): Promise<ComponentStatus> {
  const open = await isPortOpen(config.host, port, 500);
  return {
    ...base,
    owned: false,
    pid: open ? portOwnerPid(port) : undefined,
    state: "stopped",
    detail: open ? `port taken by ${portOwner(port) ?? "another process"}` : idleDetail,
  };
}
