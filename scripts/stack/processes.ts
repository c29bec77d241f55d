// Detached background processes with pid files: start them so they outlive the shell that ran `up`, recognise
// them again later (a recycled pid must never be mistaken for ours), and stop them with SIGTERM then SIGKILL.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writePid(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid}\n`);
}

export function removePid(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

/** Alive and not a zombie: a killed child of a long-lived Node process lingers as a zombie until reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** The pid from the file if that process is still running and its command line carries our marker. */
export function ownedPid(pidFile: string, marker: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined) return undefined;
  if (isAlive(pid) && commandLine(pid).includes(marker)) return pid;
  return undefined;
}

export interface DetachedSpawn {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  uid?: number;
  gid?: number;
}

/** Starts a process in its own session, stdio appended to logFile, not waited for by this Node process. */
export function spawnDetached(options: DetachedSpawn): number {
  const out = openSync(options.logFile, "a");
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", out, out],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    child.on("error", () => {
      // reported through the pid check: a process that failed to spawn is simply not alive
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // The child leads its own process group (detached), so this also reaches helpers such as a wrapper script.
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // not a group leader (or already gone): fall back to the process itself
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, wait up to graceMs, then SIGKILL. Returns how it ended. */
export async function stopProcess(pid: number, graceMs: number, force = false): Promise<"stopped" | "killed"> {
  if (!force) {
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return "stopped";
      await sleep(200);
    }
  }
  signalGroup(pid, "SIGKILL");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  return "killed";
}

export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** "redis-server (pid 2203)" for whoever listens on the port, when `ss` can tell; undefined otherwise. */
export function portOwner(port: number): string | undefined {
  const result = spawnSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  if (result.status !== 0 || !result.stdout) return undefined;
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(result.stdout);
  if (match) return `${match[1]} (pid ${match[2]})`;
  return result.stdout.trim() ? "an unknown process" : undefined;
}

export function portOwnerPid(port: number): number | undefined {
  const result = spawnSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  const match = /pid=(\d+)/.exec(result.stdout ?? "");
  return match ? Number(match[1]) : undefined;
}

export function tailFile(path: string, lines: number): string[] {
  if (!existsSync(path)) return [];
  // Logs can be large; only the last chunk is read.
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 1024 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString("utf8").split("\n");
    if (all.at(-1) === "") all.pop();
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}
