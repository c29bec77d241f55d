export { type CreateRateLimiterOptions, createRateLimiter, type RateLimitSettings } from "./create-rate-limiter.js";
export { RateLimitError, type RateLimitErrorCode } from "./errors.js";
export { createLocalRateLimiter, type LocalRateLimiter, type LocalRateLimiterOptions } from "./local-rate-limiter.js";
export { type RateDecision, type RateLimitBackend, type RateLimiter, windowCapacity } from "./rate-limiter.js";
export {
  createRemoteRateLimiter,
  type RateLimitChannel,
  type RemoteRateLimiterOptions,
  serveRateLimiter,
} from "./remote-rate-limiter.js";
export {
  createRedisRateLimiter,
  defaultKeyPrefix,
  type FallbackChangeListener,
  normaliseRedisAddress,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
  redisKeyFor,
} from "./redis-rate-limiter.js";
