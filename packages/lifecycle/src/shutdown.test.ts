import { describe, expect, it, jest } from "@jest/globals";
import { type ProcessPort, type StopResult, installShutdown } from "./shutdown.js";

class FakeProcess implements ProcessPort {
  readonly listeners = new Map<string, Array<() => void>>();
  readonly exits: number[] = [];
  readonly kills: string[] = [];
  ended: Promise<string>;
  private settle!: (how: string) => void;
  constructor(readonly pid = 4242) {
    this.ended = new Promise((resolve) => {
      this.settle = resolve;
    });
  }
  on(signal: NodeJS.Signals, listener: () => void) {
    this.listeners.set(signal, [...(this.listeners.get(signal) ?? []), listener]);
  }
  removeAllListeners(signal: NodeJS.Signals) {
    this.listeners.delete(signal);
  }
  exit(code: number) {
    this.exits.push(code);
    this.settle(`exit ${code}`);
  }
  kill(_pid: number, signal: NodeJS.Signals) {
    this.kills.push(signal);
    this.settle(`kill ${signal}`);
  }
  abort() {
    this.settle("abort");
  }
  signal(signal: NodeJS.Signals) {
    for (const listener of this.listeners.get(signal) ?? []) listener();
  }
}

const stopWith =
  (result: StopResult, ms = 0) =>
  () =>
    new Promise<StopResult>((r) => setTimeout(() => r(result), ms));

describe("installShutdown", () => {
  it("exits 0 after a drained, closed stop, and passes the budget to stop", async () => {
    const proc = new FakeProcess();
    const budgets: number[] = [];
    installShutdown({
      process: proc,
      timeoutMs: 1234,
      stop: async (ms) => {
        budgets.push(ms);
        return { drained: true, closed: true };
      },
    });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("exit 0");
    expect(budgets).toEqual([1234]);
  });

  it("exits 1 when the drain was cut short but every client closed", async () => {
    const proc = new FakeProcess();
    installShutdown({ process: proc, timeoutMs: 100, stop: stopWith({ drained: false, closed: true }) });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("exit 1");
  });

  it("exits 1 when stop throws", async () => {
    const proc = new FakeProcess();
    installShutdown({ process: proc, timeoutMs: 100, stop: () => Promise.reject(new Error("boom")) });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("exit 1");
  });

  it("keeps a non-zero reason code of begin() after a clean stop", async () => {
    const proc = new FakeProcess();
    const shutdown = installShutdown({
      process: proc,
      timeoutMs: 100,
      stop: stopWith({ drained: true, closed: true }),
    });
    void shutdown.begin("kafka-unreachable", 1);
    expect(shutdown.stopping).toBe(true);
    expect(await proc.ended).toBe("exit 1");
  });

  it("never calls exit when a client is still closing: it re-raises the signal with its default action", async () => {
    const proc = new FakeProcess();
    installShutdown({ process: proc, timeoutMs: 100, stop: stopWith({ drained: true, closed: false }) });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("kill SIGTERM");
    expect(proc.exits).toEqual([]);
    // The handler is gone, so the signal's default action ends the process.
    expect(proc.listeners.has("SIGTERM")).toBe(false);
  });

  it("ends the process on a second signal without waiting for stop, and without exit", async () => {
    const proc = new FakeProcess();
    installShutdown({ process: proc, timeoutMs: 60_000, stop: () => new Promise(() => {}) });
    proc.signal("SIGTERM");
    proc.signal("SIGINT");
    expect(await proc.ended).toBe("kill SIGINT");
    expect(proc.exits).toEqual([]);
    expect(proc.listeners.size).toBe(0);
  });

  it("leaves no timer behind after a second signal ended the process (an open handle in tests and workers)", async () => {
    jest.useFakeTimers();
    try {
      const proc = new FakeProcess();
      installShutdown({ process: proc, timeoutMs: 60_000, stop: () => new Promise(() => {}) });
      proc.signal("SIGTERM");
      proc.signal("SIGTERM");
      expect(await proc.ended).toBe("kill SIGTERM");
      // The SIGKILL fallback, for a signal that was caught after all (unref'd: it keeps no process up by itself).
      jest.advanceTimersByTime(1_000);
      expect(proc.kills).toEqual(["SIGTERM", "SIGKILL"]);
      // The watchdog of the stop that never returned is gone with it.
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it("the watchdog ends a stop that never returns, after the budget plus the grace", async () => {
    const proc = new FakeProcess();
    const started = Date.now();
    installShutdown({ process: proc, timeoutMs: 50, watchdogGraceMs: 50, stop: () => new Promise(() => {}) });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("kill SIGTERM");
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(proc.exits).toEqual([]);
  });

  it("as PID 1, where the kernel drops self-sent signals, the forced end is an abort", async () => {
    const proc = new FakeProcess(1);
    installShutdown({ process: proc, timeoutMs: 60_000, stop: () => new Promise(() => {}) });
    proc.signal("SIGTERM");
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("abort");
    expect(proc.kills).toEqual([]);
    expect(proc.exits).toEqual([]);
  });

  it("ignores a second signal when told to (a cluster worker), and ends when stop returns", async () => {
    const proc = new FakeProcess();
    installShutdown({
      process: proc,
      timeoutMs: 1_000,
      secondSignalEnds: false,
      stop: stopWith({ drained: true, closed: true }, 30),
    });
    proc.signal("SIGINT");
    proc.signal("SIGINT");
    expect(await proc.ended).toBe("exit 0");
    expect(proc.kills).toEqual([]);
  });

  it("does not wait for a log flush that never finishes", async () => {
    const proc = new FakeProcess();
    installShutdown({
      process: proc,
      timeoutMs: 100,
      flushTimeoutMs: 20,
      flush: () => new Promise(() => {}),
      stop: stopWith({ drained: true, closed: true }),
    });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("exit 0");
  });
});
