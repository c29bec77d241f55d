import { afterEach, beforeEach, describe, expect, it, jest } from "@jest/globals";
import { noopLogger } from "@barito-flow/logger";
import { watchKafka } from "./kafka-health.js";

/** A scripted ping: each call takes the next answer (the last one repeats), and counts. */
function scriptedPing(...answers: boolean[]) {
  let calls = 0;
  const ping = async () => answers[Math.min(calls++, answers.length - 1)] ?? false;
  return { ping, calls: () => calls };
}

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

describe("watchKafka", () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it("pings as soon as the client connects instead of waiting for the interval", async () => {
    let connected = false;
    const { ping, calls } = scriptedPing(true);
    const health = watchKafka(ping, { intervalMs: 2_000, logger: noopLogger, isConnected: () => connected });
    await advance(500);
    expect([health.isReachable(), calls()]).toEqual([false, 0]);
    connected = true;
    await advance(100);
    expect([health.isReachable(), calls()]).toEqual([true, 1]);
    health.stop();
  });

  it("keeps Kafka reachable through one failed ping, which it asks again at once", async () => {
    const warn = jest.fn();
    const { ping, calls } = scriptedPing(true, false, true);
    const health = watchKafka(ping, {
      intervalMs: 2_000,
      logger: { ...noopLogger, warn },
      isConnected: () => true,
    });
    await advance(0);
    expect(health.isReachable()).toBe(true);
    await advance(2_000);
    expect([health.isReachable(), calls()]).toEqual([true, 2]);
    await advance(100);
    expect([health.isReachable(), calls()]).toEqual([true, 3]);
    expect(warn).not.toHaveBeenCalled();
    health.stop();
  });

  it("turns unreachable after two failed pings in a row, and says so once", async () => {
    const warn = jest.fn();
    const { ping } = scriptedPing(true, false, false, false);
    const health = watchKafka(ping, {
      intervalMs: 2_000,
      logger: { ...noopLogger, warn },
      isConnected: () => true,
    });
    await advance(2_000);
    expect(health.isReachable()).toBe(true);
    await advance(100);
    expect(health.isReachable()).toBe(false);
    await advance(4_000);
    expect(warn.mock.calls.map(([message]) => message)).toEqual(["Kafka unreachable"]);
    health.stop();
  });

  it("honours failuresToDown = 1 (the old behaviour) and stops probing on stop()", async () => {
    const { ping, calls } = scriptedPing(true, false);
    const health = watchKafka(ping, {
      intervalMs: 1_000,
      logger: noopLogger,
      isConnected: () => true,
      failuresToDown: 1,
    });
    await advance(1_000);
    expect(health.isReachable()).toBe(false);
    health.stop();
    const before = calls();
    await advance(10_000);
    expect(calls()).toBe(before);
  });
});
