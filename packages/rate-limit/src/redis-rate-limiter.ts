import { Redis } from "ioredis";
import { type Logger, noopLogger } from "@barito-flow/logger";
import { RateLimitError } from "./errors.js";
import { createLocalRateLimiter } from "./local-rate-limiter.js";
import {
  assertValidCost,
  assertValidInterval,
  assertValidKey,
  type RateDecision,
  type RateLimitBackend,
  type RateLimiter,
  windowCapacity,
} from "./rate-limiter.js";
import { takeScript, takeScriptSha1 } from "./take-script.js";

export const defaultKeyPrefix = "barito:producer:ratelimit:";

/** Called when the limiter switches between Redis and its local fallback; wire it to a gauge and/or an alert. */
export type FallbackChangeListener = (change: { usingFallback: boolean; error?: unknown }) => void;

export interface RedisRateLimiterOptions {
  /**
   * An ioredis client (left open by `close()`; the caller owns it), or an address the limiter connects to and owns:
   * `redis://[user:pass@]host:port[/db]`, `rediss://...` (TLS) or bare `host:port`.
   */
  redis: Redis | string;
  /** Password for an address without one in it (barito: BARITO_REDIS_PASSWORD). Ignored for a client. */
  password?: string;
  /** Window length in milliseconds. */
  intervalMs: number;
  /** Default `barito:producer:ratelimit:`; exactly one `:` separates it from the key whatever the prefix ends with. */
  keyPrefix?: string;
  logger?: Logger;
  onFallbackChange?: FallbackChangeListener;
  /** A Redis call slower than this counts as a failure and is answered locally. Default 1000 ms (as in Go). */
  commandTimeoutMs?: number;
  /** While on the fallback, Redis is pinged this often to switch back. Default 5000 ms. */
  probeIntervalMs?: number;
  /** Clock for the local fallback. Default `Date.now`. */
  clock?: () => number;
  /**
   * Service discovery (Consul), for an address the limiter owns: asked again after each connection error, and the
   * host and port it answers are where ioredis's next reconnect attempt goes (scheme, credentials and TLS stay those
   * of `redis`). Undefined or a failure keep the current address.
   */
  resolveAddress?: () => Promise<string | undefined>;
}

export interface RedisRateLimiter extends RateLimiter {
  /** `redis` normally, `local` while Redis is unreachable. */
  readonly backend: RateLimitBackend;
}

/** `prefix` + `:` + `key` with exactly one separator (Go formatted "%s:%s" after a prefix ending in ":"). */
export function redisKeyFor(keyPrefix: string, key: string): string {
  const base = keyPrefix.replace(/:+$/, "");
  return base === "" ? key : `${base}:${key}`;
}

/** Accepts `host:port` as well as redis:// and rediss:// URLs. */
export function normaliseRedisAddress(address: string): string {
  const trimmed = address.trim();
  if (/^rediss?:\/\//i.test(trimmed)) return trimmed;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new RateLimitError(
      "INVALID_OPTIONS",
      "redis",
      "redis address must be host:port, redis://host:port or rediss://host:port",
    );
  }
  return `redis://${trimmed}`;
}

/** host:port of an address, for logs: never the credentials. */
function describeAddress(client: Redis): string {
  const { host, port } = client.options;
  return `${host ?? "?"}:${String(port ?? "?")}`;
}

/** Points the next reconnect of `client` at the address `resolve` answers, after each connection error. */
function followAddress(client: Redis, resolve: () => Promise<string | undefined>, logger: Logger): void {
  let asking = false;
  client.on("error", () => {
    if (asking) return;
    asking = true;
    resolve()
      .then((address) => {
        if (address === undefined) return;
        const url = new URL(normaliseRedisAddress(address));
        const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
        const port = url.port ? Number(url.port) : 6379;
        if (host === client.options.host && port === client.options.port) return;
        logger.info("redis address changed; reconnecting there", {
          from: describeAddress(client),
          to: `${host}:${port}`,
        });
        client.options.host = host;
        client.options.port = port;
      })
      .catch((err: unknown) => logger.warn("resolving the redis address failed", { err }))
      .finally(() => {
        asking = false;
      });
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function parseReply(reply: unknown): [allowed: boolean, remaining: number, pttl: number] {
  if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => typeof n === "number")) {
    throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
  }
  const [allowed, remaining, pttl] = reply as [number, number, number];
  return [allowed === 1, remaining, pttl];
}

/**
 * Fixed-window limiter shared by every producer replica through Redis: one Lua script per take checks and charges
 * atomically. When Redis fails or is slow, the take is answered by a local limiter (per replica) instead of being
 * rejected, a warning is logged and `onFallbackChange` fires; a periodic PING switches back once Redis answers.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  assertValidInterval(options.intervalMs);
  const intervalMs = options.intervalMs;
  const keyPrefix = options.keyPrefix ?? defaultKeyPrefix;
  const commandTimeoutMs = options.commandTimeoutMs ?? 1_000;
  const probeIntervalMs = options.probeIntervalMs ?? 5_000;
  for (const [field, value] of [
    ["commandTimeoutMs", commandTimeoutMs],
    ["probeIntervalMs", probeIntervalMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RateLimitError("INVALID_OPTIONS", field, `${field} must be a positive integer, got ${String(value)}`);
    }
  }
  if (typeof keyPrefix !== "string") {
    throw new RateLimitError("INVALID_OPTIONS", "keyPrefix", "keyPrefix must be a string");
  }
  const logger = (options.logger ?? noopLogger).child({ component: "rate-limit", backend: "redis" });
  const local = createLocalRateLimiter({ intervalMs, ...(options.clock ? { clock: options.clock } : {}) });

  const ownsClient = typeof options.redis === "string";
  const client =
    typeof options.redis === "string"
      ? new Redis(normaliseRedisAddress(options.redis), {
          ...(options.password ? { password: options.password } : {}),
          // Fail fast while disconnected instead of queueing: the fallback answers, and the probe reconnects us.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        })
      : options.redis;
  const address = describeAddress(client);

  let usingFallback = false;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing = false;
  let closed = false;
  let lastConnectionErrorLogAt = 0;
  // Commands fail with a generic "Stream isn't writeable" while disconnected; the socket error says why.
  let lastConnectionError: unknown;

  const notify = (error?: unknown) => {
    try {
      options.onFallbackChange?.({ usingFallback, ...(error === undefined ? {} : { error }) });
    } catch (err) {
      logger.error("onFallbackChange listener threw", { err });
    }
  };

  const enterFallback = (error: unknown) => {
    if (usingFallback || closed) return;
    usingFallback = true;
    logger.warn("redis rate limiter unavailable, using the local per-replica limiter until it answers again", {
      redis: address,
      err: error,
      ...(lastConnectionError === undefined ? {} : { connectionError: lastConnectionError }),
    });
    notify(error);
    probeTimer = setInterval(() => void probe(), probeIntervalMs);
    probeTimer.unref();
  };

  const leaveFallback = () => {
    if (!usingFallback || closed) return;
    usingFallback = false;
    lastConnectionError = undefined;
    clearInterval(probeTimer);
    probeTimer = undefined;
    logger.info("redis rate limiter recovered, limits are shared across replicas again", { redis: address });
    notify();
  };

  const probe = async () => {
    if (probing || !usingFallback || closed) return;
    probing = true;
    try {
      await withTimeout(client.ping(), commandTimeoutMs, "redis PING");
      leaveFallback();
    } catch {
      // Still down; the next tick tries again.
    } finally {
      probing = false;
    }
  };

  const onReady = () => void probe();
  const onError = (err: unknown) => {
    lastConnectionError = err;
    // ioredis emits an error per reconnect attempt; one line every 30 s is enough next to the fallback warning.
    const now = Date.now();
    if (now - lastConnectionErrorLogAt >= 30_000) {
      lastConnectionErrorLogAt = now;
      logger.debug("redis connection error", { redis: address, err });
    }
  };
  client.on("ready", onReady);
  client.on("error", onError);
  if (ownsClient && options.resolveAddress) followAddress(client, options.resolveAddress, logger);

  // A client we create is still connecting when the first requests arrive; give it up to one command timeout
  // before deciding Redis is down, so a normal start does not begin with a fallback warning.
  let initialConnection: Promise<void> | undefined =
    ownsClient && client.status !== "ready"
      ? new Promise<void>((resolve) => {
          const settle = () => {
            clearTimeout(timer);
            client.off("ready", settle);
            client.off("error", settle);
            resolve();
          };
          const timer = setTimeout(settle, commandTimeoutMs);
          timer.unref();
          // A refused connection need not wait for the timeout: the first take then goes to the fallback at once.
          client.once("ready", settle);
          client.once("error", settle);
        }).then(() => {
          initialConnection = undefined;
        })
      : undefined;

  const runScript = async (redisKey: string, cost: number, limit: number): Promise<unknown> => {
    const args = [redisKey, String(cost), String(limit), String(intervalMs)];
    try {
      return await client.evalsha(takeScriptSha1, 1, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return client.eval(takeScript, 1, ...args);
    }
  };

  return {
    get backend() {
      return usingFallback ? "local" : "redis";
    },
    take: async (key, cost, tpsLimit): Promise<RateDecision> => {
      if (closed) throw new RateLimitError("CLOSED", "limiter", "the rate limiter is closed");
      assertValidKey(key);
      assertValidCost(cost);
      if (initialConnection !== undefined) await initialConnection;
      if (usingFallback) return local.takeNow(key, cost, tpsLimit);
      const limit = windowCapacity(tpsLimit, intervalMs);
      try {
        const reply = await withTimeout(
          runScript(redisKeyFor(keyPrefix, key), cost, limit),
          commandTimeoutMs,
          "redis rate-limit script",
        );
        const [allowed, remaining, pttl] = parseReply(reply);
        return {
          allowed,
          remaining: Math.max(0, remaining),
          retryAfterMs: allowed ? 0 : Math.max(0, pttl),
          backend: "redis",
          limit,
        };
      } catch (error) {
        if (closed) throw new RateLimitError("CLOSED", "limiter", "the rate limiter is closed");
        enterFallback(error);
        return local.takeNow(key, cost, tpsLimit);
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(probeTimer);
      client.off("ready", onReady);
      await local.close();
      if (!ownsClient) {
        client.off("error", onError);
        return;
      }
      try {
        await withTimeout(client.quit(), commandTimeoutMs, "redis QUIT");
      } catch {
        // QUIT cannot reach a server that is down; drop the socket instead.
      }
      // The 'error' listener stays: ioredis may still emit while tearing down, and unhandled it prints to stderr.
      client.disconnect();
    },
  };
}
