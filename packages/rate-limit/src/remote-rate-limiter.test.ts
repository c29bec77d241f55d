import { afterEach, describe, expect, it, jest } from "@jest/globals";
import { RateLimitError } from "./errors.js";
import { createLocalRateLimiter } from "./local-rate-limiter.js";
import type { RateLimiter } from "./rate-limiter.js";
import { createRemoteRateLimiter, type RateLimitChannel, serveRateLimiter } from "./remote-rate-limiter.js";

type Channel = RateLimitChannel & { cut(): void; sent: number; listeners(): number };

/** Two ends of an IPC-like link: asynchronous delivery, messages copied (as process.send serialises them). */
function channelPair(): [Channel, Channel] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  let cut = false;
  const end = (mine: 0 | 1): Channel => ({
    sent: 0,
    send(message: unknown) {
      if (cut) throw new Error("channel closed");
      this.sent++;
      const copy = JSON.parse(JSON.stringify(message)) as unknown;
      setImmediate(() => {
        for (const listener of listeners[1 - mine] as Set<(m: unknown) => void>) listener(copy);
      });
    },
    onMessage(listener: (m: unknown) => void) {
      listeners[mine].add(listener);
      return () => listeners[mine].delete(listener);
    },
    cut() {
      cut = true;
    },
    listeners: () => listeners[mine].size,
  });
  return [end(0), end(1)];
}

function served(limiter: RateLimiter, options?: { timeoutMs?: number }) {
  const [server, client] = channelPair();
  const stop = serveRateLimiter(limiter, server);
  return { remote: createRemoteRateLimiter(client, options), stop, client, server };
}

describe("createRemoteRateLimiter + serveRateLimiter", () => {
  it("workers drawing from one served limiter admit one window's capacity in total, not one each", async () => {
    const shared = createLocalRateLimiter({ intervalMs: 10_000 });
    const workers = [served(shared), served(shared), served(shared)];
    // 3 workers × 20 concurrent requests of 10 logs against a window of 100 logs (10 logs/s × 10 s).
    const decisions = await Promise.all(
      workers.flatMap(({ remote }) => Array.from({ length: 20 }, () => remote.take("app", 10, 10))),
    );
    const admitted = decisions.filter((d) => d.allowed).length;
    expect(admitted).toBe(10);
    for (const d of decisions.filter((x) => !x.allowed)) {
      expect(d).toMatchObject({ backend: "local", limit: 100, remaining: 0 });
      expect(d.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it("passes the serving limiter's errors back with their code and field", async () => {
    const shared = createLocalRateLimiter({ intervalMs: 1_000 });
    const { remote } = served(shared);
    await shared.close();
    await expect(remote.take("app", 1, 10)).rejects.toMatchObject({ name: "RateLimitError", code: "CLOSED" });
  });

  it("checks its arguments before sending anything", async () => {
    const { remote } = served(createLocalRateLimiter({ intervalMs: 1_000 }));
    await expect(remote.take("app", -1, 10)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "cost" });
    await expect(remote.take(42 as unknown as string, 1, 10)).rejects.toMatchObject({ field: "key" });
  });

  it("rejects with CLOSED when nobody answers in time, and when the channel is gone", async () => {
    const [, lonely] = channelPair();
    const unanswered = createRemoteRateLimiter(lonely, { timeoutMs: 50 });
    await expect(unanswered.take("app", 1, 10)).rejects.toThrow("no rate-limit decision within 50 ms");

    const { remote, client } = served(createLocalRateLimiter({ intervalMs: 1_000 }));
    client.cut();
    const error = await remote.take("app", 1, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).message).toMatch(/unreachable/);
  });

  it("close() rejects the calls still waiting and every later call", async () => {
    const [, lonely] = channelPair();
    const remote = createRemoteRateLimiter(lonely, { timeoutMs: 10_000 });
    const waiting = remote.take("app", 1, 10);
    await remote.close();
    await expect(waiting).rejects.toMatchObject({ code: "CLOSED" });
    await expect(remote.take("app", 1, 10)).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("ignores messages that are not its own, on both ends", async () => {
    const { remote, client, server, stop } = served(createLocalRateLimiter({ intervalMs: 1_000 }));
    server.send({ type: "prom-client:getMetricsReq", id: 1 });
    server.send({ type: "barito-rate-limit:decision", id: 999, decision: { allowed: true } });
    client.send(null);
    client.send({ type: "barito-rate-limit:take", id: "x" });
    await expect(remote.take("app", 1, 10)).resolves.toMatchObject({ allowed: true, remaining: 9 });
    stop();
    await expect(createRemoteRateLimiter(client, { timeoutMs: 30 }).take("app", 1, 10)).rejects.toMatchObject({
      code: "CLOSED",
    });
  });
});

describe("the remote limiter's messages and errors", () => {
  afterEach(() => {
    jest.useRealTimers();
  });
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  /** A serving limiter that records its calls and answers as told. */
  function spyLimiter(answer: () => Promise<unknown> = async () => ({ allowed: true })) {
    const calls: unknown[][] = [];
    const limiter = {
      take: (...args: unknown[]) => {
        calls.push(args);
        return answer();
      },
      close: async () => {},
    } as unknown as RateLimiter;
    return { limiter, calls };
  }

  it("serves only well-formed take messages", async () => {
    const { limiter, calls } = spyLimiter();
    const [server, client] = channelPair();
    serveRateLimiter(limiter, server);
    const take = { type: "barito-rate-limit:take", id: 1, key: "k", cost: 1, tpsLimit: 1 };
    for (const bad of [
      null,
      "barito-rate-limit:take",
      { ...take, type: "other" },
      { ...take, id: "1" },
      { ...take, key: 5 },
      { ...take, cost: "1" },
      { ...take, tpsLimit: undefined },
    ]) {
      client.send(bad);
    }
    await tick();
    expect(calls).toEqual([]);
    client.send(take);
    await tick();
    expect(calls).toEqual([["k", 1, 1]]);
  });

  it("passes back any RateLimitError of the serving limiter, and wraps other failures as CLOSED", async () => {
    const failing = spyLimiter(async () => {
      throw new RateLimitError("INVALID_OPTIONS", "tpsLimit", "bad limit");
    });
    const { remote } = served(failing.limiter);
    await expect(remote.take("k", 1, 1)).rejects.toMatchObject({
      name: "RateLimitError",
      code: "INVALID_OPTIONS",
      field: "tpsLimit",
      message: "bad limit",
    });
    const broken = served(spyLimiter(async () => Promise.reject(new Error("boom"))).limiter);
    await expect(broken.remote.take("k", 1, 1)).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "rate limiter failed: Error: boom",
    });
  });

  it("rejects an answer with neither decision nor error as CLOSED, and ignores answers of the wrong shape", async () => {
    const [server, client] = channelPair();
    const remote = createRemoteRateLimiter(client, { timeoutMs: 1_000 });
    server.onMessage((message) => {
      const { id } = message as { id: number };
      server.send(null);
      server.send({ type: "barito-rate-limit:decision", id: String(id), decision: { allowed: true } });
      server.send({ type: "barito-rate-limit:decision", id });
    });
    await expect(remote.take("k", 1, 1)).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "no decision",
    });
  });

  it("sends nothing for invalid arguments or once closed, and names the field in every CLOSED error", async () => {
    const { remote, client } = served(createLocalRateLimiter({ intervalMs: 1_000 }));
    await expect(remote.take("k", -1, 1)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "cost",
      message: "cost must be a non-negative integer, got -1",
    });
    await expect(remote.take(7 as unknown as string, 1, 1)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "key",
      message: "key must be a string, got number",
    });
    expect(client.sent).toBe(0);
    await remote.close();
    await expect(remote.take("k", 1, 1)).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "rate limiter is closed",
    });
    expect(client.sent).toBe(0);

    const [, lonely] = channelPair();
    const unanswered = createRemoteRateLimiter(lonely, { timeoutMs: 20 });
    await expect(unanswered.take("k", 1, 1)).rejects.toMatchObject({ code: "CLOSED", field: "limiter" });
    lonely.cut();
    await expect(unanswered.take("k", 1, 1)).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "rate limiter unreachable: Error: channel closed",
    });
    const waiting = createRemoteRateLimiter(channelPair()[1], { timeoutMs: 1_000 });
    const pending = waiting.take("k", 1, 1);
    await waiting.close();
    await expect(pending).rejects.toMatchObject({
      code: "CLOSED",
      field: "limiter",
      message: "rate limiter is closed",
    });
  });

  it("leaves no timer behind once a call is answered, refused or closed, and unsubscribes on close", async () => {
    jest.useFakeTimers({ doNotFake: ["setImmediate", "nextTick", "queueMicrotask"] });
    const { remote, client } = served(createLocalRateLimiter({ intervalMs: 1_000 }));
    await expect(remote.take("k", 1, 10)).resolves.toMatchObject({ allowed: true });
    expect(jest.getTimerCount()).toBe(0);

    const [, cutEnd] = channelPair();
    cutEnd.cut();
    await expect(createRemoteRateLimiter(cutEnd).take("k", 1, 1)).rejects.toMatchObject({ code: "CLOSED" });
    expect(jest.getTimerCount()).toBe(0);

    const [, silent] = channelPair();
    const waiting = createRemoteRateLimiter(silent);
    const pending = waiting.take("k", 1, 1);
    expect(jest.getTimerCount()).toBe(1);
    await waiting.close();
    await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
    expect(jest.getTimerCount()).toBe(0);
    expect(silent.listeners()).toBe(0);

    expect(client.listeners()).toBe(1);
    await remote.close();
    expect(client.listeners()).toBe(0);
  });

  it("waits 5 s for an answer by default", async () => {
    jest.useFakeTimers({ doNotFake: ["setImmediate", "nextTick", "queueMicrotask"] });
    const [, silent] = channelPair();
    const outcome = createRemoteRateLimiter(silent)
      .take("k", 1, 1)
      .catch((error: unknown) => error);
    jest.advanceTimersByTime(4_999);
    await tick();
    const early = await Promise.race([outcome, Promise.resolve("still waiting")]);
    expect(early).toBe("still waiting");
    jest.advanceTimersByTime(1);
    expect(await outcome).toMatchObject({ code: "CLOSED", message: "no rate-limit decision within 5000 ms" });
  });
});
