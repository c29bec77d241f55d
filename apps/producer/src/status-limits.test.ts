import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { describe, expect, it } from "@jest/globals";
import { observeLimits } from "./status-limits.js";

describe("observeLimits", () => {
  it("records each key's limit and window use as the limiter answered, most recent first", async () => {
    let now = 0;
    const local = createLocalRateLimiter({ intervalMs: 10_000, clock: () => now });
    const observed = observeLimits(local, { clock: () => now });
    expect(await observed.limiter.take("a", 3, 1)).toMatchObject({ allowed: true, remaining: 7 });
    now = 5;
    await observed.limiter.take("b", 20, 1);
    expect(observed.uses()).toEqual([
      { key: "b", limit: 10, used: 0, backend: "local", at: 5, lastAllowed: false },
      { key: "a", limit: 10, used: 3, backend: "local", at: 0, lastAllowed: true },
    ]);
    // The wrapper keeps the limiter's other members.
    await observed.limiter.close();
    await expect(observed.limiter.take("a", 1, 1)).rejects.toThrow(/closed/);
  });

  it("forgets the least recently used keys beyond maxKeys", async () => {
    const observed = observeLimits(
      { take: async (_key: string, _cost: number, _tps: number) => ({ allowed: true, limit: 1, retryAfterMs: 0 }) },
      { maxKeys: 2, clock: () => 0 },
    );
    for (const key of ["a", "b", "a", "c"]) await observed.limiter.take(key, 1, 1);
    expect(observed.uses().map((use) => [use.key, use.used, use.backend])).toEqual([
      ["c", undefined, undefined],
      ["a", undefined, undefined],
    ]);
  });
});
