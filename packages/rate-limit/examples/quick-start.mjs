// Runnable example: `pnpm --filter @barito-flow/rate-limit build`, then
// `REDIS_URL=redis://127.0.0.1:6379 node packages/rate-limit/examples/quick-start.mjs` from the repository root.
import { randomUUID } from "node:crypto";
import { createLocalRateLimiter, createRedisRateLimiter } from "@barito-flow/rate-limit";

// 5 TPS over a 2 s window: 10 units per window, per key.
const local = createLocalRateLimiter({ intervalMs: 2_000 });
console.log("local  ", await local.take("app-a", 8, 5)); // allowed, remaining 2
console.log("local  ", await local.take("app-a", 3, 5)); // rejected whole, nothing charged, retryAfterMs ~2000
await local.close();

const logger = { debug() {}, info: console.log, warn: console.warn, error: console.error, child: () => logger };
const redis = createRedisRateLimiter({
  redis: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  intervalMs: 2_000,
  keyPrefix: `barito:example:ratelimit:${randomUUID()}:`, // keys expire with the window; nothing to clean up
  logger,
  onFallbackChange: ({ usingFallback }) => console.log("fallback to local:", usingFallback),
});
console.log("redis  ", await redis.take("app-a", 8, 5)); // backend "redis" (or "local" if Redis is down)
console.log("redis  ", await redis.take("app-a", 3, 5));
await redis.close();
