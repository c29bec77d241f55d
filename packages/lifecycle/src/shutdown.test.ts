import { describe, expect, it } from "@jest/globals";
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

  it("the watchdog ends a stop that never returns, after the budget plus the grace", async () => {
    const proc = new FakeProcess();
    const started = Date.now();
    installShutdown({ process: proc, timeoutMs: 50, watchdogGraceMs: 50, stop: () => new Promise(() => {}) });
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("kill SIGTERM");
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(proc.exits).toEqual([]);
  });

  it("as PID 1, where the kernel drops self-sent signals, the forced end is an exit", async () => {
    const proc = new FakeProcess(1);
    installShutdown({ process: proc, timeoutMs: 60_000, stop: () => new Promise(() => {}) });
    proc.signal("SIGTERM");
    proc.signal("SIGTERM");
    expect(await proc.ended).toBe("exit 1");
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
