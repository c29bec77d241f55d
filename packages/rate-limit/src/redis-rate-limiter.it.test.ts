import { randomUUID } from "node:crypto";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { Redis } from "ioredis";
import type { Logger } from "@barito-flow/logger";
import { createRedisRateLimiter, type RedisRateLimiter } from "./redis-rate-limiter.js";

const redisUrl = "redis://127.0.0.1:6379";
const runPrefix = `barito:test:ratelimit:${randomUUID()}`;
let admin: Redis;
const limiters: RedisRateLimiter[] = [];

function track(limiter: RedisRateLimiter): RedisRateLimiter {
  limiters.push(limiter);
  return limiter;
}

function prefixFor(testName: string): string {
  return `${runPrefix}:${testName}:`;
}

interface LoggedEntry {
  level: string;
  msg: string;
  meta?: Record<string, unknown>;
}

function recordingLogger(entries: LoggedEntry[] = []): Logger & { entries: LoggedEntry[] } {
  const make = (bound: Record<string, unknown>): Logger => ({
    debug: (msg, meta) => entries.push({ level: "debug", msg, meta: { ...bound, ...meta } }),
    info: (msg, meta) => entries.push({ level: "info", msg, meta: { ...bound, ...meta } }),
    warn: (msg, meta) => entries.push({ level: "warn", msg, meta: { ...bound, ...meta } }),
    error: (msg, meta) => entries.push({ level: "error", msg, meta: { ...bound, ...meta } }),
    child: (meta) => make({ ...bound, ...meta }),
  });
  return Object.assign(make({}), { entries });
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A loopback TCP relay to the real Redis that the test can cut and restore, to simulate an outage. */
async function startRelay(port = 0): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(6379, "127.0.0.1");
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    for (const socket of [inbound, outbound]) {
      socket.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
      socket.on("close", () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

beforeAll(() => {
  admin = new Redis(redisUrl);
});

afterEach(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()));
});

afterAll(async () => {
  // Only this run's keys: the Redis server is shared, so never FLUSHDB.
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await admin.scan(cursor, "MATCH", `${runPrefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describe("createRedisRateLimiter against the real Redis", () => {
  it("admits exactly the window's capacity across two limiter instances under concurrency", async () => {
    const keyPrefix = prefixFor("atomic");
    const a = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 10_000, keyPrefix }));
    const b = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 10_000, keyPrefix }));

    const takes = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? a : b).take("app-1", 1, 10));
    const decisions = await Promise.all(takes);

    expect(decisions.every((d) => d.backend === "redis")).toBe(true);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    // Rejected requests were not charged: the counter is exactly the admitted total.
    expect(await admin.get(`${keyPrefix}app-1`)).toBe("100");
    const rejected = decisions.filter((d) => !d.allowed);
    expect(rejected.every((d) => d.remaining === 0 && d.retryAfterMs > 0 && d.retryAfterMs <= 10_000)).toBe(true);
  });

  it("admits a request whole or rejects it whole, without charging the rejected one", async () => {
    const keyPrefix = prefixFor("whole");
    const limiter = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 10_000, keyPrefix }));
    expect(await limiter.take("app", 7, 1)).toMatchObject({ allowed: true, remaining: 3, retryAfterMs: 0 });
    expect(await limiter.take("app", 5, 1)).toMatchObject({ allowed: false, remaining: 3 });
    expect(await admin.get(`${keyPrefix}app`)).toBe("7");
    expect(await limiter.take("app", 3, 1)).toMatchObject({ allowed: true, remaining: 0, backend: "redis" });
  });

  it("sets the TTL in the same step that creates a key, for every key", async () => {
    const keyPrefix = prefixFor("ttl");
    const limiter = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 5_000, keyPrefix }));
    const keys = Array.from({ length: 100 }, (_, i) => `app-${i}`);
    await Promise.all(keys.flatMap((key) => [limiter.take(key, 1, 100), limiter.take(key, 2, 100)]));

    const pttls = await Promise.all(keys.map((key) => admin.pttl(`${keyPrefix}${key}`)));
    expect(pttls.every((pttl) => pttl > 0 && pttl <= 5_000)).toBe(true);
  });

  it("gives a TTL to a key that was left without one, instead of locking it forever", async () => {
    const keyPrefix = prefixFor("heal");
    await admin.set(`${keyPrefix}stuck`, "999999");
    const limiter = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 3_000, keyPrefix }));
    expect(await limiter.take("stuck", 1, 1)).toMatchObject({ allowed: false });
    const pttl = await admin.pttl(`${keyPrefix}stuck`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(3_000);
  });

  it("opens a new window when the key expires, and reports the time left as retryAfterMs", async () => {
    const keyPrefix = prefixFor("window");
    const limiter = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 1_000, keyPrefix }));
    expect(await limiter.take("k", 5, 5)).toMatchObject({ allowed: true, remaining: 0 });
    const rejected = await limiter.take("k", 1, 5);
    expect(rejected.allowed).toBe(false);
    expect(rejected.retryAfterMs).toBeGreaterThan(0);
    expect(rejected.retryAfterMs).toBeLessThanOrEqual(1_000);
    await new Promise((resolve) => setTimeout(resolve, rejected.retryAfterMs + 50));
    expect(await limiter.take("k", 5, 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("uses one ':' between prefix and key (the Go limiter wrote '::')", async () => {
    const keyPrefix = prefixFor("separator");
    const limiter = track(createRedisRateLimiter({ redis: redisUrl, intervalMs: 5_000, keyPrefix }));
    await limiter.take("app", 1, 1);
    expect(await admin.exists(`${keyPrefix}app`)).toBe(1);
    expect(await admin.exists(`${keyPrefix}:app`)).toBe(0);
  });

  it("falls back to a local limiter when Redis is unreachable, warns, and fires the state hook", async () => {
    const logger = recordingLogger();
    const changes: boolean[] = [];
    const limiter = track(
      createRedisRateLimiter({
        redis: "127.0.0.1:1",
        intervalMs: 10_000,
        keyPrefix: prefixFor("unreachable"),
        logger,
        commandTimeoutMs: 300,
        onFallbackChange: ({ usingFallback }) => changes.push(usingFallback),
      }),
    );
    const started = Date.now();
    const first = await limiter.take("app", 8, 1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(first).toMatchObject({ allowed: true, remaining: 2, backend: "local" });
    // The local fallback still enforces the limit.
    expect(await limiter.take("app", 3, 1)).toMatchObject({ allowed: false, remaining: 2, backend: "local" });
    expect(limiter.backend).toBe("local");
    expect(changes).toEqual([true]);
    const warnings = logger.entries.filter((e) => e.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.meta).toMatchObject({ redis: "127.0.0.1:1" });
    expect(warnings[0]?.meta?.err).toBeInstanceOf(Error);
    expect(String(warnings[0]?.meta?.connectionError)).toMatch(/ECONNREFUSED/);
  });

  it("goes back to Redis when it answers again", async () => {
    const relay = await startRelay();
    const keyPrefix = prefixFor("recovery");
    const changes: boolean[] = [];
    const logger = recordingLogger();
    const limiter = track(
      createRedisRateLimiter({
        redis: `redis://127.0.0.1:${relay.port}`,
        intervalMs: 10_000,
        keyPrefix,
        logger,
        commandTimeoutMs: 300,
        probeIntervalMs: 100,
        onFallbackChange: ({ usingFallback }) => changes.push(usingFallback),
      }),
    );
    expect(await limiter.take("app", 1, 10)).toMatchObject({ allowed: true, backend: "redis" });

    await relay.stop();
    expect(await limiter.take("app", 1, 10)).toMatchObject({ allowed: true, backend: "local" });
    expect(changes).toEqual([true]);

    const restored = await startRelay(relay.port);
    try {
      await until(() => limiter.backend === "redis", 10_000);
      expect(changes).toEqual([true, false]);
      // Back on the shared counter, which still holds the take made before the outage.
      expect(await limiter.take("app", 1, 10)).toMatchObject({ allowed: true, backend: "redis", remaining: 98 });
      expect(logger.entries.some((e) => e.level === "info" && /recovered/.test(e.msg))).toBe(true);
    } finally {
      await limiter.close();
      await restored.stop();
    }
  });

  it("reconnects where resolveAddress points after its Redis went away (service discovery)", async () => {
    const relay = await startRelay();
    const keyPrefix = prefixFor("moved");
    let asked = 0;
    const limiter = track(
      createRedisRateLimiter({
        redis: `redis://127.0.0.1:${relay.port}`,
        intervalMs: 10_000,
        keyPrefix,
        commandTimeoutMs: 300,
        probeIntervalMs: 100,
        resolveAddress: async () => {
          asked++;
          return "127.0.0.1:6379";
        },
      }),
    );
    expect(await limiter.take("app", 1, 10)).toMatchObject({ backend: "redis" });
    expect(asked).toBe(0);
    // The old address stays dead: only the resolved one brings the limiter back to Redis.
    await relay.stop();
    expect(await limiter.take("app", 1, 10)).toMatchObject({ backend: "local" });
    await until(() => limiter.backend === "redis", 10_000);
    expect(asked).toBeGreaterThan(0);
    expect(await limiter.take("app", 1, 10)).toMatchObject({ backend: "redis", remaining: 98 });
  });

  it("leaves a caller-owned client open on close", async () => {
    const client = new Redis(redisUrl);
    try {
      const limiter = createRedisRateLimiter({ redis: client, intervalMs: 1_000, keyPrefix: prefixFor("owned") });
      expect(await limiter.take("app", 1, 1)).toMatchObject({ allowed: true, backend: "redis" });
      await limiter.close();
      await expect(limiter.take("app", 1, 1)).rejects.toMatchObject({ code: "CLOSED" });
      expect(await client.ping()).toBe("PONG");
    } finally {
      await client.quit();
    }
  });
});
