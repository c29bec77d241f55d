import { describe, expect, it } from "@jest/globals";
import { RateLimitError } from "./errors.js";
import { createLocalRateLimiter } from "./local-rate-limiter.js";
import { windowCapacity } from "./rate-limiter.js";

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    set: (ms: number) => {
      now = ms;
    },
  };
}

describe("windowCapacity", () => {
  it("is tps × interval seconds, rounded down, and 0 for a missing or bad limit", () => {
    expect(windowCapacity(100, 10_000)).toBe(1_000);
    expect(windowCapacity(3, 1_500)).toBe(4);
    expect(windowCapacity(0, 10_000)).toBe(0);
    expect(windowCapacity(-5, 10_000)).toBe(0);
    expect(windowCapacity(Number.NaN, 10_000)).toBe(0);
    expect(windowCapacity(Number.POSITIVE_INFINITY, 10_000)).toBe(0);
  });
});

describe("createLocalRateLimiter", () => {
  it("admits up to tps × interval per window, then rejects with the time left in the window", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 10_000, clock: clock.now });

    expect(await limiter.take("app-a", 600, 100)).toEqual({
      allowed: true,
      remaining: 400,
      retryAfterMs: 0,
      backend: "local",
      limit: 1_000,
    });
    clock.advance(2_500);
    expect(await limiter.take("app-a", 400, 100)).toMatchObject({ allowed: true, remaining: 0 });
    clock.advance(1_000);
    expect(await limiter.take("app-a", 1, 100)).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 6_500,
      backend: "local",
      limit: 1_000,
    });
  });

  it("admits a request whole or rejects it whole, and does not charge rejected requests", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });

    expect(await limiter.take("k", 7, 10)).toMatchObject({ allowed: true, remaining: 3 });
    // 5 does not fit into the 3 left: nothing of it is admitted and nothing is charged...
    expect(await limiter.take("k", 5, 10)).toMatchObject({ allowed: false, remaining: 3 });
    expect(await limiter.take("k", 5, 10)).toMatchObject({ allowed: false, remaining: 3 });
    // ...so the 3 that are left can still be used.
    expect(await limiter.take("k", 3, 10)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("starts a fresh window once the interval has passed", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 10_000, clock: clock.now });
    await limiter.take("k", 20, 2);
    expect(await limiter.take("k", 1, 2)).toMatchObject({ allowed: false, retryAfterMs: 10_000 });
    clock.advance(9_999);
    expect(await limiter.take("k", 1, 2)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.advance(1);
    expect(await limiter.take("k", 20, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("keeps one window per key", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    expect(await limiter.take("a", 5, 5)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.take("b", 5, 5)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.take("a", 1, 5)).toMatchObject({ allowed: false });
    expect(await limiter.take("b", 1, 5)).toMatchObject({ allowed: false });
  });

  it("applies the limit passed with each call to the running window (barito passes it per request)", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    expect(await limiter.take("k", 10, 10)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.take("k", 5, 15)).toMatchObject({ allowed: true, remaining: 0, limit: 15 });
    // Lowering the limit below what is used already rejects everything until the window ends.
    expect(await limiter.take("k", 1, 5)).toMatchObject({ allowed: false, remaining: 0, limit: 5 });
  });

  it("rejects every request with a cost when the limit is 0 or missing, like the Go limiter", async () => {
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: fakeClock().now });
    expect(await limiter.take("k", 1, 0)).toMatchObject({ allowed: false, remaining: 0, limit: 0 });
    expect(await limiter.take("k", 1, -1)).toMatchObject({ allowed: false });
    expect(await limiter.take("k", 0, 0)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("rejects a request larger than the whole window, with the window length as retry hint", async () => {
    const limiter = createLocalRateLimiter({ intervalMs: 10_000, clock: fakeClock().now });
    expect(await limiter.take("k", 1_001, 100)).toEqual({
      allowed: false,
      remaining: 1_000,
      retryAfterMs: 10_000,
      backend: "local",
      limit: 1_000,
    });
  });

  it("never over-admits under many concurrent takes", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 10_000, clock: clock.now });
    const decisions = await Promise.all(Array.from({ length: 500 }, () => limiter.take("hot", 3, 10)));
    const admitted = decisions.filter((d) => d.allowed).length;
    // Capacity 100 = 33 requests of 3 (99 units); the 34th does not fit whole.
    expect(admitted).toBe(33);
    expect(Math.min(...decisions.map((d) => d.remaining))).toBe(1);
  });

  it("drops keys whose window has ended, so memory follows the keys active in one interval", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    for (let i = 0; i < 1_000; i++) await limiter.take(`app-${i}`, 1, 10);
    expect(limiter.trackedKeys).toBe(1_000);
    clock.advance(1_000);
    await limiter.take("late", 1, 10);
    expect(limiter.trackedKeys).toBe(1);
  });

  it("caps the number of tracked keys by forgetting the oldest windows", async () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ intervalMs: 60_000, clock: clock.now, maxKeys: 10 });
    for (let i = 0; i < 50; i++) {
      await limiter.take(`app-${i}`, 1, 1);
      clock.advance(1);
    }
    expect(limiter.trackedKeys).toBe(10);
    // The newest key is still tracked...
    expect(await limiter.take("app-49", 60, 1)).toMatchObject({ allowed: false, remaining: 59 });
  });

  it("recovers when the clock goes backwards instead of freezing the window", async () => {
    const clock = fakeClock(50_000);
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    await limiter.take("k", 10, 10);
    clock.set(10_000);
    expect(await limiter.take("k", 10, 10)).toMatchObject({ allowed: true });
  });

  it("refuses bad arguments with a typed error instead of guessing", async () => {
    const limiter = createLocalRateLimiter({ intervalMs: 1_000 });
    for (const cost of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(limiter.take("k", cost, 10)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "cost" });
    }
    await expect(limiter.take(42 as unknown as string, 1, 10)).rejects.toBeInstanceOf(RateLimitError);
    expect(() => createLocalRateLimiter({ intervalMs: 0 })).toThrow(RateLimitError);
    expect(() => createLocalRateLimiter({ intervalMs: Number.NaN })).toThrow(/intervalMs/);
    expect(() => createLocalRateLimiter({ intervalMs: 1_000, maxKeys: 0 })).toThrow(/maxKeys/);
  });

  it("refuses takes after close", async () => {
    const limiter = createLocalRateLimiter({ intervalMs: 1_000 });
    await limiter.close();
    await expect(limiter.take("k", 1, 1)).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("createLocalRateLimiter at the edges", () => {
  it("sweeps only the windows that have ended, oldest first", async () => {
    const clock = fakeClock(0);
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    clock.set(100);
    await limiter.take("old", 1, 1);
    clock.set(600);
    await limiter.take("young", 1, 1);
    clock.set(1_100);
    await limiter.take("new", 1, 1);
    // The sweep at 1 100 dropped "old" (ended at 1 100) and kept "young", still limited.
    expect(limiter.trackedKeys).toBe(2);
    expect(await limiter.take("young", 1, 1)).toMatchObject({ allowed: false, retryAfterMs: 500 });
  });

  it("restarts an ended window on the key's next take even between sweeps, exactly at its end", async () => {
    const clock = fakeClock(0);
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now });
    clock.set(500);
    expect(await limiter.take("k", 1, 1)).toMatchObject({ allowed: true, remaining: 0 });
    clock.set(1_000);
    await limiter.take("other", 1, 1); // sweeps at 1 000, when "k" still runs
    clock.set(1_500);
    expect(await limiter.take("k", 1, 1)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("moves a restarted window to the newest place, so the key cap forgets other keys first", async () => {
    const clock = fakeClock(0);
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: clock.now, maxKeys: 2 });
    clock.set(100);
    await limiter.take("a", 1, 1);
    clock.set(1_000);
    await limiter.take("z", 1, 1);
    clock.set(1_100);
    expect(await limiter.take("a", 1, 1)).toMatchObject({ allowed: true });
    clock.set(1_200);
    await limiter.take("n", 1, 1);
    expect(limiter.trackedKeys).toBe(2);
    // "z" was the oldest window and is forgotten; "a" is still limited.
    expect(await limiter.take("a", 1, 1)).toMatchObject({ allowed: false });
    expect(await limiter.take("z", 1, 1)).toMatchObject({ allowed: true });
  });

  it("answers a take of 0 without tracking the key", async () => {
    const limiter = createLocalRateLimiter({ intervalMs: 1_000, clock: fakeClock().now });
    const { allowed, remaining, backend } = await limiter.take("k", 0, 10);
    expect([allowed, remaining, backend]).toEqual([true, 10, "local"]);
    expect(limiter.trackedKeys).toBe(0);
  });

  it("accepts a cap of one key, and forgets everything on close", async () => {
    const one = createLocalRateLimiter({ intervalMs: 1_000, maxKeys: 1 });
    await one.take("a", 1, 1);
    await one.take("b", 1, 1);
    expect(one.trackedKeys).toBe(1);
    await one.close();
    expect(one.trackedKeys).toBe(0);
  });

  it("names the option or argument and says what was wrong", async () => {
    expect(() => createLocalRateLimiter({ intervalMs: 1_000, maxKeys: 0 })).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTIONS",
        field: "maxKeys",
        message: "maxKeys must be a positive integer, got 0",
      }),
    );
    expect(() => createLocalRateLimiter({ intervalMs: 1.5 })).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTIONS",
        field: "intervalMs",
        message: "intervalMs must be a positive integer number of milliseconds, got 1.5",
      }),
    );
    const limiter = createLocalRateLimiter({ intervalMs: 1_000 });
    await expect(limiter.take("k", 2.5, 1)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "cost",
      message: "cost must be a non-negative integer, got 2.5",
    });
    await expect(limiter.take(null as unknown as string, 1, 1)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "key",
      message: "key must be a string, got object",
    });
    await limiter.close();
    await expect(limiter.take("k", 1, 1)).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "the rate limiter is closed",
    });
    expect(() => limiter.takeNow("k", 1, 1)).toThrow(RateLimitError);
  });
});
