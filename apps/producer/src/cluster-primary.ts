import type { Worker } from "node:cluster";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@barito-flow/logger";
import { type RateLimiter, serveRateLimiter } from "@barito-flow/rate-limit";
import { AggregatorRegistry } from "prom-client";

/** What a worker tells its primary about itself (see `reportToPrimary`). */
export const READINESS_MESSAGE = "barito-producer:readiness";

export interface ClusterPrimaryOptions {
  workers: number;
  logger: Logger;
  /** Starts one worker process (`cluster.fork`). */
  fork: () => Worker;
  /** With `LOCAL` limits, the one limiter every worker draws from; with `REDIS`, workers use Redis themselves. */
  sharedRateLimiter?: RateLimiter;
  /** First restart delay after a crash; doubles per crash within a minute, up to 30 s. Default 1000 ms. */
  restartDelayMs?: number;
}

export interface ClusterPrimary {
  /** Forks the workers and serves `/metrics` (every worker's metrics, aggregated), `/healthz` and `/readyz`. */
  start(metricsAddress: { host: string; port: number }): Promise<{ metrics: number }>;
  /**
   * Passes `signal` to every worker (each drains and flushes as a single process does), waits for them within
   * `timeoutMs`, and resolves with the exit code for the whole producer.
   */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number>;
  /** Resolves when the producer must exit without having been asked to: a worker failed before it ever served. */
  readonly failed: Promise<number>;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  everReady: boolean;
  stopServingLimits?: () => void;
}

/**
 * The primary of `BARITO_PRODUCER_WORKERS` > 1: it forks the workers (the kernel and Node's cluster module spread
 * the REST and gRPC connections over them), restarts one that dies, keeps the shared LOCAL rate-limit windows and
 * serves the operational endpoints for all of them. It never handles produce traffic itself.
 */
export function createClusterPrimary(options: ClusterPrimaryOptions): ClusterPrimary {
  const { workers, logger } = options;
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const slots = new Map<number, Slot>();
  const registry = new AggregatorRegistry();
  let stopping = false;
  let server: Server | undefined;
  let recentCrashes: number[] = [];
  let failWith: (code: number) => void = () => {};
  const failed = new Promise<number>((resolve) => {
    failWith = resolve;
  });

  function startWorker(): void {
    const worker = options.fork();
    const slot: Slot = { worker, ready: false, everReady: false };
    slots.set(worker.id, slot);
    if (options.sharedRateLimiter) {
      slot.stopServingLimits = serveRateLimiter(options.sharedRateLimiter, {
        send: (message) => {
          worker.send(message as never);
        },
        onMessage: (listener) => {
          worker.on("message", listener);
          return () => worker.off("message", listener);
        },
      });
    }
    worker.on("message", (message: { type?: unknown; ready?: unknown }) => {
      if (message?.type !== READINESS_MESSAGE) return;
      slot.ready = message.ready === true;
      if (slot.ready && !slot.everReady) {
        slot.everReady = true;
        logger.info("producer worker serving", { worker: worker.id, pid: worker.process.pid });
      }
    });
    worker.on("exit", (code, signal) => {
      slots.delete(worker.id);
      slot.stopServingLimits?.();
      if (stopping) return;
      if (!slot.everReady) {
        // A worker that never served (bad configuration, Kafka unreachable past BARITO_KAFKA_MAX_RETRY) would fail
        // the same way again: stop the whole producer, as a single process would.
        logger.error("producer worker failed before serving; stopping the producer", {
          worker: worker.id,
          code,
          signal,
        });
        failWith(typeof code === "number" && code !== 0 ? code : 1);
        return;
      }
      const now = Date.now();
      recentCrashes = [...recentCrashes.filter((at) => now - at < 60_000), now];
      const delayMs = Math.min(30_000, restartDelayMs * 2 ** (recentCrashes.length - 1));
      logger.error("producer worker exited; starting a new one", { worker: worker.id, code, signal, delayMs });
      setTimeout(() => {
        if (!stopping) startWorker();
      }, delayMs).unref();
    });
  }

  function readiness() {
    const alive = [...slots.values()];
    const ready = alive.filter((slot) => slot.ready).length;
    return { ready: !stopping && ready === workers, checks: { workers, alive: alive.length, ready } };
  }

  async function answer(path: string | undefined): Promise<{ status: number; type: string; body: string }> {
    if (path === "/metrics") {
      try {
        return { status: 200, type: registry.contentType, body: await registry.clusterMetrics() };
      } catch (err) {
        return { status: 503, type: "text/plain", body: `metrics unavailable: ${String(err)}\n` };
      }
    }
    if (path === "/healthz") return { status: 200, type: "application/json", body: '{"status":"ok"}' };
    if (path === "/readyz") {
      const r = readiness();
      const body = JSON.stringify({ status: r.ready ? "ready" : "not_ready", checks: r.checks });
      return { status: r.ready ? 200 : 503, type: "application/json", body };
    }
    return { status: 404, type: "application/json", body: '{"code":"NOT_FOUND","message":"no such route"}' };
  }

  return {
    failed,
    async start(metricsAddress) {
      for (let i = 0; i < workers; i++) startWorker();
      server = createServer((req, res) => {
        const path = req.url?.split("?")[0];
        if (req.method !== "GET") {
          res.writeHead(405, { allow: "GET" }).end();
          return;
        }
        void answer(path).then(({ status, type, body }) => res.writeHead(status, { "content-type": type }).end(body));
      });
      await new Promise<void>((resolve, reject) => {
        server?.once("error", reject);
        server?.listen(metricsAddress.port, metricsAddress.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      logger.info("producer primary started", { workers, metrics: port });
      return { metrics: port };
    },
    async stop(signal, timeoutMs) {
      stopping = true;
      server?.close();
      const exits = [...slots.values()].map(
        ({ worker }) =>
          new Promise<number>((resolve) => {
            worker.once("exit", (code) => resolve(typeof code === "number" ? code : 1));
            worker.process.kill(signal);
          }),
      );
      const timedOut = new Promise<number>((resolve) => setTimeout(() => resolve(1), timeoutMs).unref());
      const codes = await Promise.race([Promise.all(exits), timedOut.then(() => [1])]);
      for (const { worker } of slots.values()) worker.process.kill("SIGKILL");
      await options.sharedRateLimiter?.close();
      return codes.every((code) => code === 0) ? 0 : 1;
    },
  };
}
