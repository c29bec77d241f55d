export { type CreateRateLimiterOptions, createRateLimiter, type RateLimitSettings } from "./create-rate-limiter.js";
export { RateLimitError, type RateLimitErrorCode } from "./errors.js";
export { createLocalRateLimiter, type LocalRateLimiter, type LocalRateLimiterOptions } from "./local-rate-limiter.js";
export type { RateDecision, RateLimitBackend, RateLimiter } from "./rate-limiter.js";
export {
  createRemoteRateLimiter,
  type RateLimitChannel,
  type RemoteRateLimiterOptions,
  serveRateLimiter,
} from "./remote-rate-limiter.js";
export {
  createRedisRateLimiter,
  type FallbackChangeListener,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
} from "./redis-rate-limiter.js";
