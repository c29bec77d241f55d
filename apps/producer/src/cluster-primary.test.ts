// The primary's supervision with fake worker processes: a worker that served is replaced after a delay that
// doubles with quick crashes; one that never served stops the producer.
import type { Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import type { Logger } from "@barito-flow/logger";
import { afterEach, describe, expect, it } from "@jest/globals";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import type { StatusDocument } from "@barito-flow/status-page";
import { type ClusterPrimary, createClusterPrimary, READINESS_MESSAGE } from "./cluster-primary.js";

interface FakeWorker extends EventEmitter {
  id: number;
  forkedAt: number;
  serve(): void;
  crash(): void;
}

function fakeWorkers() {
  const forked: FakeWorker[] = [];
  const fork = () => {
    const worker = Object.assign(new EventEmitter(), {
      id: forked.length + 1,
      forkedAt: Date.now(),
      send: () => true,
      serve: () => worker.emit("message", { type: READINESS_MESSAGE, ready: true }),
      crash: () => worker.emit("exit", 1, null),
      process: {
        pid: 1000 + forked.length,
        kill: (signal: string) => worker.emit("exit", signal === "SIGKILL" ? 1 : 0),
      },
    });
    forked.push(worker);
    return worker as unknown as Worker;
  };
  return { forked, fork };
}

const restarts: Array<Record<string, unknown>> = [];
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (msg, meta) => {
    if (msg === "producer worker exited; starting a new one") restarts.push(meta ?? {});
  },
  child: () => logger,
};

const primaries: ClusterPrimary[] = [];
afterEach(async () => {
  restarts.length = 0;
  for (const primary of primaries.splice(0)) await primary.stop("SIGTERM", 100);
});

/** Polls until `condition` holds, for at most 10 s. */
const until = async (condition: () => boolean, deadline = Date.now() + 10_000): Promise<void> => {
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
};

describe("cluster primary", () => {
  it("replaces a worker that served, after a delay that doubles with each quick crash", async () => {
    const { forked, fork } = fakeWorkers();
    const primary = createClusterPrimary({ workers: 1, logger, fork, restartDelayMs: 20 });
    primaries.push(primary);
    await primary.start({ host: "127.0.0.1", port: 0 });
    for (let crashes = 1; crashes <= 3; crashes++) {
      const worker = forked[crashes - 1] as FakeWorker;
      worker.serve();
      const crashedAt = Date.now();
      worker.crash();
      await until(() => forked.length === crashes + 1);
      expect((forked[crashes] as FakeWorker).forkedAt - crashedAt).toBeGreaterThanOrEqual(20 * 2 ** (crashes - 1) - 2);
    }
    expect(restarts.map(({ delayMs }) => delayMs)).toEqual([20, 40, 80]);
    expect(restarts[0]).toMatchObject({ worker: 1, code: 1, signal: null });
  }, 30_000);

  it("stops the producer with the worker's code when a worker fails before it ever served", async () => {
    const { forked, fork } = fakeWorkers();
    const primary = createClusterPrimary({ workers: 1, logger, fork, restartDelayMs: 20 });
    primaries.push(primary);
    await primary.start({ host: "127.0.0.1", port: 0 });
    forked[0]?.emit("exit", 3, null);
    await expect(primary.failed).resolves.toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(forked).toHaveLength(1);
  });

  it("answers /readyz with the lifecycle body: ready once every worker serves", async () => {
    const { forked, fork } = fakeWorkers();
    const primary = createClusterPrimary({ workers: 2, logger, fork });
    primaries.push(primary);
    const { metrics } = await primary.start({ host: "127.0.0.1", port: 0 });
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${metrics}/readyz`);
      return { status: res.status, body: await res.json() };
    };
    expect(await readyz()).toEqual({
      status: 503,
      body: { status: "not_ready", checks: { workers: 2, alive: 2, ready: 0 } },
    });
    for (const worker of forked) worker.serve();
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: "ready", checks: { workers: 2, alive: 2, ready: 2 } },
    });
  });

  it("requires BARITO_EXPORTER_TOKEN on /metrics and every other path, but not on the probes", async () => {
    const { fork } = fakeWorkers();
    const operatorToken = "primary-operator-token-0123456789";
    const primary = createClusterPrimary({ workers: 1, logger, fork, operatorToken });
    primaries.push(primary);
    const { metrics } = await primary.start({ host: "127.0.0.1", port: 0 });
    const get = (path: string, authorization?: string) =>
      fetch(`http://127.0.0.1:${metrics}${path}`, authorization ? { headers: { authorization } } : {});
    for (const path of ["/metrics", "/status", "/nope"]) {
      const refused = await get(path);
      expect([path, refused.status, refused.headers.get("www-authenticate")]).toEqual([
        path,
        401,
        'Bearer realm="barito-flow"',
      ]);
    }
    expect((await get("/metrics", "Bearer wrong-token")).status).toBe(401);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(503);
    // Past the token, the primary's own router answers (404 for a path it does not serve).
    expect((await get("/nope", `Bearer ${operatorToken}`)).status).toBe(404);
  });

  it("serves the status page on the aggregate: worker readiness for Kafka, the shared LOCAL windows", async () => {
    const { forked, fork } = fakeWorkers();
    const primary = createClusterPrimary({
      workers: 2,
      logger,
      fork,
      sharedRateLimiter: createLocalRateLimiter({ intervalMs: 10_000 }),
      rateLimitIntervalMs: 10_000,
    });
    primaries.push(primary);
    const { metrics } = await primary.start({ host: "127.0.0.1", port: 0 });
    forked[0]?.serve();
    const answered = new Promise((resolve) => {
      (forked[0] as unknown as { send: (message: unknown) => boolean }).send = (message) => {
        resolve(message);
        return true;
      };
    });
    forked[0]?.emit("message", { type: "barito-rate-limit:take", id: 1, key: "shop_logs", cost: 3, tpsLimit: 1 });
    await answered;
    const status = async () => {
      const res = await fetch(`http://127.0.0.1:${metrics}/status.json`);
      return (await res.json()) as StatusDocument;
    };
    // The page samples once a second: wait for a tick that saw the served worker and the take.
    const shows = (doc: StatusDocument) => {
      const overview = doc.sections.find((s) => s.id === "overview");
      const limits = doc.sections.find((s) => s.id === "limits");
      return {
        kafka: overview?.kind === "cards" ? overview.cards[0] : undefined,
        limits: limits?.kind === "table" ? limits.rows : undefined,
      };
    };
    const deadline = Date.now() + 3_000;
    let seen = shows(await status());
    while ((seen.limits?.length ?? 0) === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = shows(await status());
    }
    expect(seen).toEqual({
      kafka: { label: "workers ready (Kafka reachable)", value: "1 / 2", tone: "bad" },
      limits: [{ key: "shop_logs", limit: 10, used: 3, percent: 30, backend: "local", last: "0 s ago" }],
    });
    const page = await fetch(`http://127.0.0.1:${metrics}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
  });
});
