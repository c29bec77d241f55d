import { describe, expect, it } from "@jest/globals";
import { createFailureLockout } from "./failure-lockout.js";

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("createFailureLockout", () => {
  it("locks an address after maxFailures within the window, for lockoutMs, and no other address", () => {
    const time = clock();
    const lockout = createFailureLockout({ maxFailures: 3, windowMs: 10_000, lockoutMs: 60_000 }, time.now);
    lockout.recordFailure("10.0.0.1");
    lockout.recordFailure("10.0.0.1");
    expect(lockout.lockedFor("10.0.0.1")).toBe(0);
    lockout.recordFailure("10.0.0.1");
    expect(lockout.lockedFor("10.0.0.1")).toBe(60_000);
    expect(lockout.lockedFor("10.0.0.2")).toBe(0);
    time.advance(59_999);
    expect(lockout.lockedFor("10.0.0.1")).toBe(1);
    time.advance(1);
    expect(lockout.lockedFor("10.0.0.1")).toBe(0);
  });

  it("starts a new count when the window has passed", () => {
    const time = clock();
    const lockout = createFailureLockout({ maxFailures: 3, windowMs: 10_000, lockoutMs: 60_000 }, time.now);
    lockout.recordFailure("a");
    lockout.recordFailure("a");
    time.advance(10_000);
    lockout.recordFailure("a");
    lockout.recordFailure("a");
    expect(lockout.lockedFor("a")).toBe(0);
    lockout.recordFailure("a");
    expect(lockout.lockedFor("a")).toBe(60_000);
  });

  it("does not extend a running lock with further failures", () => {
    const time = clock();
    const lockout = createFailureLockout({ maxFailures: 1, windowMs: 10_000, lockoutMs: 5_000 }, time.now);
    lockout.recordFailure("a");
    time.advance(4_000);
    lockout.recordFailure("a");
    expect(lockout.lockedFor("a")).toBe(1_000);
  });

  it("counts nothing with maxFailures 0", () => {
    const lockout = createFailureLockout({ maxFailures: 0, windowMs: 10_000, lockoutMs: 5_000 });
    for (let i = 0; i < 100; i++) lockout.recordFailure("a");
    expect(lockout.lockedFor("a")).toBe(0);
    expect(lockout.size).toBe(0);
  });

  it("keeps at most maxAddresses, dropping the least recently failed", () => {
    const time = clock();
    const lockout = createFailureLockout(
      { maxFailures: 2, windowMs: 10_000, lockoutMs: 5_000, maxAddresses: 100 },
      time.now,
    );
    lockout.recordFailure("first");
    lockout.recordFailure("first");
    for (let i = 0; i < 99; i++) lockout.recordFailure(`other-${i}`);
    expect(lockout.size).toBe(100);
    expect(lockout.lockedFor("first")).toBe(5_000);
    lockout.recordFailure("one-more");
    expect(lockout.size).toBe(100);
    expect(lockout.lockedFor("first")).toBe(0);
    for (let i = 0; i < 10_000; i++) lockout.recordFailure(`flood-${i}`);
    expect(lockout.size).toBe(100);
  });
});
