import type { Logger } from "@barito-flow/logger";
import { RateLimitError } from "./errors.js";
import { createLocalRateLimiter } from "./local-rate-limiter.js";
import type { RateLimitBackend, RateLimiter } from "./rate-limiter.js";
import { createRedisRateLimiter, type FallbackChangeListener } from "./redis-rate-limiter.js";

/** Mirrors the producer's `config.rateLimit` (apps/producer/src/config.ts), so it can be passed straight through. */
export interface RateLimitSettings {
  backend: RateLimitBackend;
  intervalMs: number;
  redis?: { url: string; password?: string | undefined; keyPrefix?: string | undefined };
}

export interface CreateRateLimiterOptions {
  logger?: Logger;
  onFallbackChange?: FallbackChangeListener;
  /** The redis backend's address from service discovery, asked again after connection errors (`resolveAddress`). */
  resolveRedisAddress?: () => Promise<string | undefined>;
}

/** Picks the backend named in the settings (BARITO_RATE_LIMITER_OPT). */
export function createRateLimiter(settings: RateLimitSettings, options: CreateRateLimiterOptions = {}): RateLimiter {
  if (settings.backend === "local") return createLocalRateLimiter({ intervalMs: settings.intervalMs });
  if (settings.backend !== "redis") {
    throw new RateLimitError("INVALID_OPTIONS", "backend", `unknown rate limit backend ${String(settings.backend)}`);
  }
  if (settings.redis === undefined) {
    throw new RateLimitError("INVALID_OPTIONS", "redis", "the redis backend needs redis.url");
  }
  return createRedisRateLimiter({
    redis: settings.redis.url,
    intervalMs: settings.intervalMs,
    ...(settings.redis.password ? { password: settings.redis.password } : {}),
    ...(settings.redis.keyPrefix !== undefined ? { keyPrefix: settings.redis.keyPrefix } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onFallbackChange ? { onFallbackChange: options.onFallbackChange } : {}),
    ...(options.resolveRedisAddress ? { resolveAddress: options.resolveRedisAddress } : {}),
  });
}
