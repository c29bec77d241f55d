import type { Worker } from "node:cluster";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { healthAnswer, isHealthPath, requireBearerToken } from "@barito-flow/lifecycle";
import type { Logger } from "@barito-flow/logger";
import { type RateLimiter, serveRateLimiter } from "@barito-flow/rate-limit";
import { answerStatus, createStatusSource } from "@barito-flow/status-page";
import pRetry from "p-retry";
import { AggregatorRegistry } from "prom-client";
import { createProducerStatusCollector } from "./status.js";
import { observeLimits } from "./status-limits.js";

/** What a worker tells its primary about itself (see `reportToPrimary`). */
export const READINESS_MESSAGE = "barito-producer:readiness";

export interface ClusterPrimaryOptions {
  workers: number;
  logger: Logger;
  /** Starts one worker process (`cluster.fork`). */
  fork: () => Worker;
  /** With `LOCAL` limits, the one limiter every worker draws from; with `REDIS`, workers use Redis themselves. */
  sharedRateLimiter?: RateLimiter;
  /** BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL, for the status page's window use. Default 10 s. */
  rateLimitIntervalMs?: number;
  /** First restart delay after a crash; doubles per quick crash (a worker that served under a minute), up to 30 s. Default 1000 ms. */
  restartDelayMs?: number;
  /** BARITO_EXPORTER_TOKEN: every path of the metrics port but /healthz and /readyz requires it. */
  operatorToken?: string | undefined;
}

export interface ClusterPrimary {
  /**
   * Forks the workers and serves `/metrics` (every worker's metrics, aggregated), the status page on the same
   * aggregate, `/healthz` and `/readyz`.
   */
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

/** A worker's end the primary did not ask for. */
export class WorkerExitError extends Error {
  override readonly name = "WorkerExitError";
  constructor(
    readonly worker: number,
    readonly code: number | null,
    readonly signal: string | null,
    /** The worker had served: a replacement can serve too. One that never served would fail the same way again. */
    readonly retriable: boolean,
    /** It served for at least `steadyMs`: its end starts a new count of quick crashes. */
    readonly steady: boolean,
  ) {
    super(`producer worker ${worker} exited (code ${code}, signal ${signal})`);
  }
}

/** A worker that served this long before it ended is replaced after the first delay again. */
const steadyMs = 60_000;
const maxRestartDelayMs = 30_000;

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
  // With LOCAL limits the primary makes every decision, so its page shows the windows; with REDIS it cannot.
  const limits = options.sharedRateLimiter && observeLimits(options.sharedRateLimiter);
  const status = createStatusSource({
    title: `barito-flow producer (${workers} workers)`,
    collect: createProducerStatusCollector({
      read: () => registry.clusterMetrics(),
      readiness: () => readiness(),
      ...(limits ? { limits: limits.uses } : {}),
      limitIntervalMs: options.rateLimitIntervalMs ?? 10_000,
    }),
  });
  const stopped = new AbortController();
  let server: Server | undefined;
  let failWith: (code: number) => void = () => {};
  const failed = new Promise<number>((resolve) => {
    failWith = resolve;
  });

  /** One worker's life: resolves when it ends because the primary stops, rejects with a WorkerExitError otherwise. */
  function runWorker(): Promise<void> {
    const worker = options.fork();
    const forkedAt = Date.now();
    const slot: Slot = { worker, ready: false, everReady: false };
    slots.set(worker.id, slot);
    if (options.sharedRateLimiter) {
      slot.stopServingLimits = serveRateLimiter(limits?.limiter ?? options.sharedRateLimiter, {
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
    return new Promise((resolve, reject) => {
      worker.on("exit", (code, signal) => {
        slots.delete(worker.id);
        slot.stopServingLimits?.();
        if (stopped.signal.aborted) resolve();
        else {
          const steady = slot.everReady && Date.now() - forkedAt >= steadyMs;
          reject(new WorkerExitError(worker.id, code, signal, slot.everReady, steady));
        }
      });
    });
  }

  function logRestart(error: WorkerExitError, delayMs: number): void {
    const { worker, code, signal } = error;
    logger.error("producer worker exited; starting a new one", { worker, code, signal, delayMs });
  }

  /**
   * Keeps one worker running: a crashed one is replaced after a delay that doubles with each quick crash (from
   * `restartDelayMs` up to 30 s), and starts again from `restartDelayMs` after a worker that served a minute.
   */
  async function supervise(): Promise<void> {
    let steadyExit: WorkerExitError | undefined;
    while (!stopped.signal.aborted) {
      try {
        if (steadyExit) {
          logRestart(steadyExit, restartDelayMs);
          await sleep(restartDelayMs, undefined, { ref: false, signal: stopped.signal });
        }
        await pRetry(runWorker, {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          minTimeout: restartDelayMs,
          maxTimeout: maxRestartDelayMs,
          signal: stopped.signal,
          unref: true,
          shouldRetry: ({ error }) => error instanceof WorkerExitError && error.retriable && !error.steady,
          onFailedAttempt: ({ error, retryDelay }) => {
            if (error instanceof WorkerExitError && error.retriable && !error.steady) logRestart(error, retryDelay);
          },
        });
        return;
      } catch (err) {
        if (stopped.signal.aborted) return;
        if (err instanceof WorkerExitError && err.steady) {
          steadyExit = err;
          continue;
        }
        // A worker that never served (bad configuration, Kafka unreachable past BARITO_KAFKA_MAX_RETRY) would fail
        // the same way again: stop the whole producer, as a single process would.
        const { worker, code, signal } = err instanceof WorkerExitError ? err : { worker: 0, code: 1, signal: null };
        logger.error("producer worker failed before serving; stopping the producer", { worker, code, signal });
        failWith(typeof code === "number" && code !== 0 ? code : 1);
        return;
      }
    }
  }

  function readiness() {
    const alive = [...slots.values()];
    const ready = alive.filter((slot) => slot.ready).length;
    return { ready: !stopped.signal.aborted && ready === workers, checks: { workers, alive: alive.length, ready } };
  }

  async function answer(url: URL): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const path = url.pathname;
    const page = answerStatus(status, path, url.searchParams);
    if (page) return page;
    if (path === "/metrics") {
      try {
        return {
          status: 200,
          headers: { "content-type": registry.contentType },
          body: await registry.clusterMetrics(),
        };
      } catch (err) {
        return {
          status: 503,
          headers: { "content-type": "text/plain" },
          body: `metrics unavailable: ${String(err)}\n`,
        };
      }
    }
    if (isHealthPath(path)) {
      const { status, contentType, body } = healthAnswer(path, readiness);
      return { status, headers: { "content-type": contentType }, body };
    }
    return {
      status: 404,
      headers: { "content-type": "application/json" },
      body: '{"code":"NOT_FOUND","message":"no such route"}',
    };
  }

  return {
    failed,
    async start(metricsAddress) {
      for (let i = 0; i < workers; i++) void supervise();
      server = createServer(
        requireBearerToken((req, res) => {
          if (req.method !== "GET") {
            res.writeHead(405, { allow: "GET" }).end();
            return;
          }
          void answer(new URL(req.url ?? "/", "http://primary")).then(({ status, headers, body }) =>
            res.writeHead(status, headers).end(body),
          );
        }, options.operatorToken),
      );
      await new Promise<void>((resolve, reject) => {
        server?.once("error", reject);
        server?.listen(metricsAddress.port, metricsAddress.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      status.start();
      logger.info("producer primary started", { workers, metrics: port });
      return { metrics: port };
    },
    async stop(signal, timeoutMs) {
      stopped.abort();
      status.stop();
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
