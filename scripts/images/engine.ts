// The container engine and the docker client, shared by `pnpm images build|test|compose` and .ci/run.
// When no engine answers, dockerd is started the way this project's machines allow (no iptables, no default
// bridge, vfs storage), its pid is remembered, and only an engine started that way is ever stopped.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ownedPid, removePid, spawnDetached, stopProcess, tailFile, writePid } from "../stack/processes.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export class ImagesError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ImagesError";
    this.code = code;
  }
}

export type Log = (line: string) => void;

/**
 * Debian's client: it talks to the engine's built-in BuildKit (DOCKER_BUILDKIT=1), which `RUN --mount=type=cache`
 * needs; a newer client without the buildx plugin refuses BuildKit builds altogether.
 */
export function dockerClient(): string {
  if (process.env.BARITO_DOCKER) return process.env.BARITO_DOCKER;
  return existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}

export function dockerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_BUILDKIT: "1", COMPOSE_DOCKER_CLI_BUILD: "1" };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A short docker command whose output is wanted whole. */
export function docker(args: string[], options: { input?: string; allowFailure?: boolean } = {}): RunResult {
  const result = spawnSync(dockerClient(), args, {
    env: dockerEnv(),
    encoding: "utf8",
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new ImagesError("docker_missing", `cannot run ${dockerClient()}: ${result.error.message}`);
  const out = { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  if (out.status !== 0 && !options.allowFailure) {
    throw new ImagesError(
      "docker_failed",
      `docker ${args.join(" ")} failed (exit ${out.status}): ${out.stderr.trim()}`,
    );
  }
  return out;
}

/**
 * A long command whose output is streamed line by line through `log` (progress), keeping the last lines for the
 * error message when it fails.
 */
export function stream(
  command: string,
  args: string[],
  log: Log,
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    prefix?: string;
    filter?: (line: string) => boolean;
    maxLineLength?: number;
  } = {},
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? dockerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    let pending = "";
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString("utf8");
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (line.trim() === "" || !(options.filter?.(line) ?? true)) continue;
        const max = options.maxLineLength ?? Number.POSITIVE_INFINITY;
        log(`${options.prefix ?? ""}${line.length > max ? `${line.slice(0, max)}...` : line}`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (error) => reject(new ImagesError("spawn_failed", `cannot run ${command}: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (pending.trim() !== "") tail.push(pending);
      if (code === 0) resolvePromise();
      else
        reject(
          new ImagesError(
            "command_failed",
            `${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}); last lines:\n${tail.join("\n")}`,
          ),
        );
    });
  });
}

export function engineAnswers(): boolean {
  const probe = spawnSync(dockerClient(), ["version", "--format", "{{.Server.Version}}"], {
    env: dockerEnv(),
    encoding: "utf8",
    timeout: 10_000,
  });
  return probe.status === 0 && probe.stdout.trim() !== "";
}

function engineDir(): string {
  return join(resolve(repoRoot, process.env.STACK_DIR || ".stack"), "engine");
}

export const engineFiles = {
  pid: () => join(engineDir(), "dockerd.pid"),
  log: () => join(engineDir(), "dockerd.log"),
};

export interface Engine {
  /** True when this call started dockerd (and so may stop it). */
  started: boolean;
  pid: number | undefined;
  /** Stops dockerd if this call started it; a no-op for an engine someone else runs. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The flags that work on the project's machines: no iptables or bridge (no NAT), vfs (no overlay in the VM). */
export const DOCKERD_ARGS = ["--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs"];

/** An engine that answers: the one already running, or a dockerd started here (pid in .stack/engine). */
export async function ensureEngine(log: Log, options: { timeoutMs?: number } = {}): Promise<Engine> {
  if (engineAnswers()) {
    const pid = ownedPid(engineFiles.pid(), "dockerd");
    return { started: false, pid, stop: async () => {} };
  }
  const dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].find((path) => existsSync(path));
  if (!dockerd) {
    throw new ImagesError(
      "engine_missing",
      "no container engine answers and dockerd is not installed: apt-get install docker.io (or start your own engine)",
    );
  }
  mkdirSync(engineDir(), { recursive: true });
  log(`engine: starting ${dockerd} ${DOCKERD_ARGS.join(" ")} (log ${engineFiles.log()})`);
  const pid = spawnDetached({
    command: dockerd,
    args: DOCKERD_ARGS,
    cwd: engineDir(),
    env: process.env,
    logFile: engineFiles.log(),
  });
  writePid(engineFiles.pid(), pid);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!engineAnswers()) {
    if (ownedPid(engineFiles.pid(), "dockerd") === undefined || Date.now() > deadline) {
      await stopEngine(log);
      throw new ImagesError(
        "engine_failed",
        `dockerd (pid ${pid}) did not answer; last lines of ${engineFiles.log()}:\n${tailFile(engineFiles.log(), 20).join("\n")}`,
      );
    }
    await sleep(300);
  }
  log(`engine: dockerd pid ${pid} answers`);
  return { started: true, pid, stop: () => stopEngine(log) };
}

/** Stops the dockerd whose pid this checkout recorded (never an engine it did not start). */
export async function stopEngine(log: Log): Promise<void> {
  const pid = ownedPid(engineFiles.pid(), "dockerd");
  if (pid === undefined) {
    removePid(engineFiles.pid());
    return;
  }
  log(`engine: stopping dockerd pid ${pid}`);
  // dockerd stops its containers first (15 s each at most), so give it more than that.
  const outcome = await stopProcess(pid, 45_000);
  removePid(engineFiles.pid());
  log(`engine: dockerd ${outcome}`);
}

/** Bytes as the README tables show them. */
export function formatMb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(0)} MB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
