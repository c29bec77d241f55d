import { noopLogger } from "@barito-flow/logger";
import { describe, expect, it } from "@jest/globals";
import { connectKafkaWithRetry } from "./kafka-startup.js";

const failingTimes = (n: number) => {
  let calls = 0;
  return {
    connect: async () => {
      calls++;
      if (calls <= n) throw new Error("broker down");
    },
    calls: () => calls,
  };
};

describe("connectKafkaWithRetry", () => {
  it("retries until connected when maxRetry is 0 (forever)", async () => {
    const target = failingTimes(3);
    let failures = 0;
    const ok = await connectKafkaWithRetry({
      connect: target.connect,
      maxRetry: 0,
      retryIntervalMs: 1,
      logger: noopLogger,
      onAttemptFailed: () => failures++,
    });
    expect(ok).toBe(true);
    expect(target.calls()).toBe(4);
    expect(failures).toBe(3);
  });

  it("gives up after maxRetry attempts", async () => {
    const target = failingTimes(10);
    const ok = await connectKafkaWithRetry({
      connect: target.connect,
      maxRetry: 2,
      retryIntervalMs: 1,
      logger: noopLogger,
    });
    expect(ok).toBe(false);
    expect(target.calls()).toBe(2);
  });

  it("stops waiting when aborted", async () => {
    const target = failingTimes(Number.POSITIVE_INFINITY);
    const abort = new AbortController();
    const pending = connectKafkaWithRetry({
      connect: target.connect,
      maxRetry: 0,
      retryIntervalMs: 60_000,
      logger: noopLogger,
      signal: abort.signal,
    });
    await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    expect(await pending).toBe(false);
    expect(target.calls()).toBe(1);
  });
});
