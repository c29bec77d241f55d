// Running the built images: `docker run` on the host's network with a memory limit, health, user, memory peaks
// from the container's cgroup, and OpenSearch read back with raw queries.
import { readFileSync } from "node:fs";
import { docker } from "./engine.ts";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RunSpec {
  name: string;
  image: string;
  memory: string;
  env: Record<string, string>;
  /** Host directories mounted read-only, host path to container path. */
  readOnlyMounts?: Record<string, string>;
}

/**
 * Detached, on the host's network (the engine has no bridge), memory+swap capped so the limit is the limit, and
 * locked down as deploy/ runs the apps: read-only root filesystem, no privilege escalation.
 */
export function runContainer(spec: RunSpec): string {
  const envArgs = Object.entries(spec.env).flatMap(([key, value]) => ["-e", `${key}=${value}`]);
  const args = ["run", "-d", "--name", spec.name, "--network", "host", "--memory", spec.memory];
  args.push("--read-only", "--security-opt", "no-new-privileges");
  for (const [host, container] of Object.entries(spec.readOnlyMounts ?? {})) args.push("-v", `${host}:${container}:ro`);
  args.push("--memory-swap", spec.memory, ...envArgs, spec.image);
  return docker(args).stdout.trim();
}

export function removeContainer(name: string): void {
  docker(["rm", "-f", "-v", name], { allowFailure: true });
}

export interface ContainerState {
  status: string;
  health: string | undefined;
  exitCode: number;
  oomKilled: boolean;
  user: string;
  memoryLimit: number;
  readOnlyRootfs: boolean;
}

export function inspect(name: string): ContainerState {
  const format =
    '{"status":{{json .State.Status}},"health":{{if .State.Health}}{{json .State.Health.Status}}{{else}}null{{end}},' +
    '"exitCode":{{.State.ExitCode}},"oomKilled":{{.State.OOMKilled}},"user":{{json .Config.User}},"memoryLimit":{{.HostConfig.Memory}},"readOnlyRootfs":{{.HostConfig.ReadonlyRootfs}}}';
  const parsed = JSON.parse(docker(["inspect", "--format", format, name]).stdout) as ContainerState & {
    health: string | null;
  };
  return { ...parsed, health: parsed.health ?? undefined };
}

export function logsTail(name: string, lines = 15): string {
  const out = docker(["logs", "--tail", String(lines), name], { allowFailure: true });
  return `${out.stdout}${out.stderr}`.trim();
}

/** Polls the engine's HEALTHCHECK state; resolves with the seconds it took, or throws with the container's log. */
export async function waitHealthy(name: string, timeoutMs: number, started = Date.now()): Promise<number> {
  for (;;) {
    const state = inspect(name);
    if (state.health === "healthy") return (Date.now() - started) / 1000;
    if (state.status !== "running" || Date.now() - started > timeoutMs) {
      throw new Error(
        `${name} is ${state.status}${state.health ? `, health ${state.health}` : ""} after ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${state.exitCode}, OOMKilled ${state.oomKilled}); last log lines:\n${logsTail(name)}`,
      );
    }
    await sleep(500);
  }
}

/** `docker stop -t grace`: how long it took and the exit code the app chose. */
export function stopContainer(
  name: string,
  graceSeconds: number,
): { seconds: number; exitCode: number; oomKilled: boolean } {
  const started = Date.now();
  docker(["stop", "-t", String(graceSeconds), name]);
  const state = inspect(name);
  return { seconds: (Date.now() - started) / 1000, exitCode: state.exitCode, oomKilled: state.oomKilled };
}

/**
 * The container's peak memory from its cgroup: memory.peak (cgroup v2) or memory.max_usage_in_bytes (v1, which the
 * project's machines have); undefined when neither is readable.
 */
export function peakMemoryBytes(containerId: string): number | undefined {
  const candidates = [
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/memory.peak`,
    `/sys/fs/cgroup/docker/${containerId}/memory.peak`,
    `/sys/fs/cgroup/memory/docker/${containerId}/memory.max_usage_in_bytes`,
    `/sys/fs/cgroup/memory/system.slice/docker-${containerId}.scope/memory.max_usage_in_bytes`,
  ];
  for (const path of candidates) {
    try {
      const value = Number(readFileSync(path, "utf8").trim());
      if (Number.isFinite(value) && value > 0) return value;
    } catch {
      // next layout
    }
  }
  return undefined;
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${(bytes / 1048576).toFixed(0)} MiB`;
}

// ------------------------------------------------------------------------------------------------ OpenSearch

export interface Hit {
  _id: string;
  _index: string;
  _source: Record<string, unknown>;
}

export async function openSearch<T>(url: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404)
    throw new Error(`OpenSearch ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Documents of the given indices matching a query, after a refresh so that everything indexed is visible. */
export async function search(
  url: string,
  indices: string,
  query: unknown,
  size = 100,
): Promise<{ total: number; hits: Hit[] }> {
  await openSearch(url, `/${indices}/_refresh?ignore_unavailable=true&allow_no_indices=true`, {});
  const result = await openSearch<{ hits?: { total: { value: number }; hits: Hit[] } }>(
    url,
    `/${indices}/_search?ignore_unavailable=true&allow_no_indices=true`,
    { query, size, track_total_hits: true },
  );
  return { total: result.hits?.total.value ?? 0, hits: result.hits?.hits ?? [] };
}

/** Polls `probe` until it returns a value or the time is up (then the last value, possibly undefined). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(everyMs);
  }
}
