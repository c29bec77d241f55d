// Redis for the producer's distributed rate limit. An already running Redis is used and never stopped; else
// redis-server is started when installed; else the component reports itself unavailable.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Component, ensurePortFree, stopOwned, waitReady } from "./component.ts";
import type { StackConfig } from "./config.ts";
import { redisPing } from "./probes.ts";
import { ownedPid, portOwnerPid, removePid, spawnDetached, writePid } from "./processes.ts";

function redisPaths(config: StackConfig) {
  const dir = join(config.stackDir, "redis");
  return { dir, pidFile: join(config.stackDir, "redis.pid"), log: join(dir, "redis.log") };
}

// redis-server rewrites its argv to "redis-server host:port", so only the binary name is stable.
const REDIS_MARKER = "redis-server";

function redisServerInstalled(): boolean {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return !probe.error && probe.status === 0;
}

export const redis: Component = {
  name: "redis",
  address: (config) => `${config.host}:${config.redisPort}`,
  logFiles: (config) => [redisPaths(config).log],
  stateDir: (config) => redisPaths(config).dir,

  async status(config) {
    const paths = redisPaths(config);
    const ours = ownedPid(paths.pidFile, REDIS_MARKER);
    const base = { name: "redis" as const, address: this.address(config), owned: ours !== undefined };
    try {
      const { version } = await redisPing(config.host, config.redisPort, 1500);
      const pid = ours ?? portOwnerPid(config.redisPort);
      return {
        ...base,
        pid,
        state: "running",
        version,
        detail:
          ours !== undefined
            ? "started by this stack"
            : "already running on this machine (not ours: never stopped by the stack)",
      };
    } catch (error) {
      if (ours !== undefined)
        return { ...base, pid: ours, state: "starting", version: "", detail: (error as Error).message };
      const installed = redisServerInstalled();
      return {
        ...base,
        pid: undefined,
        state: installed ? "stopped" : "unavailable",
        version: "",
        detail: installed
          ? ""
          : "no Redis answers and redis-server is not installed: Redis-backed features (distributed rate limit) are unavailable",
      };
    }
  },

  async prepare() {},

  async start(config, log) {
    const paths = redisPaths(config);
    if (ownedPid(paths.pidFile, REDIS_MARKER) !== undefined) return "already-running";
    try {
      await redisPing(config.host, config.redisPort, 1500);
      return "external";
    } catch {
      // nobody answers: start our own if we can
    }
    removePid(paths.pidFile);
    if (!redisServerInstalled()) {
      log(
        "redis: no Redis answers and redis-server is not installed: Redis-backed features (distributed rate limit) are unavailable",
      );
      return "unavailable";
    }
    await ensurePortFree(config, config.redisPort, "STACK_REDIS_PORT", "Redis");
    mkdirSync(paths.dir, { recursive: true });
    const pid = spawnDetached({
      command: "redis-server",
      args: [
        "--bind",
        config.host,
        "--port",
        String(config.redisPort),
        "--dir",
        paths.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
      ],
      cwd: paths.dir,
      env: process.env,
      logFile: paths.log,
    });
    writePid(paths.pidFile, pid);
    await waitReady(config, this, pid, async () => {
      await redisPing(config.host, config.redisPort, 1000);
      return true;
    });
    return "started";
  },

  async stop(config, options) {
    const paths = redisPaths(config);
    const outcome = await stopOwned(paths.pidFile, REDIS_MARKER, 10_000, options.force);
    if (outcome !== undefined) return outcome;
    try {
      await redisPing(config.host, config.redisPort, 1000);
      return "not-ours";
    } catch {
      return "not-running";
    }
  },
};
