import { describe, expect, it } from "@jest/globals";
import { createRateLimiter } from "./create-rate-limiter.js";
import { RateLimitError } from "./errors.js";
import { createRedisRateLimiter, defaultKeyPrefix, normaliseRedisAddress, redisKeyFor } from "./redis-rate-limiter.js";

describe("redisKeyFor", () => {
  it("joins prefix and key with exactly one ':'", () => {
    expect(redisKeyFor(defaultKeyPrefix, "app")).toBe("barito:producer:ratelimit:app");
    expect(redisKeyFor("barito:producer:ratelimit", "app")).toBe("barito:producer:ratelimit:app");
    expect(redisKeyFor("custom::", "app")).toBe("custom:app");
    expect(redisKeyFor("", "app")).toBe("app");
  });
});

describe("normaliseRedisAddress", () => {
  it("accepts host:port and redis:// or rediss:// URLs", () => {
    expect(normaliseRedisAddress("localhost:6379")).toBe("redis://localhost:6379");
    expect(normaliseRedisAddress(" redis://:pw@host:6380/2 ")).toBe("redis://:pw@host:6380/2");
    expect(normaliseRedisAddress("rediss://host:6380")).toBe("rediss://host:6380");
  });

  it("rejects other schemes, such as the Go default http://localhost:6379", () => {
    expect(() => normaliseRedisAddress("http://localhost:6379")).toThrow(RateLimitError);
  });
});

describe("createRedisRateLimiter options", () => {
  it("rejects bad options before connecting anywhere", () => {
    expect(() => createRedisRateLimiter({ redis: "127.0.0.1:1", intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => createRedisRateLimiter({ redis: "127.0.0.1:1", intervalMs: 1_000, commandTimeoutMs: -1 })).toThrow(
      /commandTimeoutMs/,
    );
    expect(() => createRedisRateLimiter({ redis: "127.0.0.1:1", intervalMs: 1_000, probeIntervalMs: 0 })).toThrow(
      /probeIntervalMs/,
    );
    expect(() => createRedisRateLimiter({ redis: "http://x:1", intervalMs: 1_000 })).toThrow(/redis address/);
  });
});

describe("createRateLimiter", () => {
  it("builds the backend named in the settings and refuses incomplete ones", async () => {
    const local = createRateLimiter({ backend: "local", intervalMs: 1_000 });
    expect(await local.take("k", 1, 1)).toMatchObject({ allowed: true, backend: "local" });
    await local.close();
    expect(() => createRateLimiter({ backend: "redis", intervalMs: 1_000 })).toThrow(/redis\.url/);
    expect(() => createRateLimiter({ backend: "gubernator" as "local", intervalMs: 1_000 })).toThrow(/unknown/);
  });
});
