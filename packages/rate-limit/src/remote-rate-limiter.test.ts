import { describe, expect, it } from "@jest/globals";
import { RateLimitError } from "./errors.js";
import { createLocalRateLimiter } from "./local-rate-limiter.js";
import type { RateLimiter } from "./rate-limiter.js";
import { createRemoteRateLimiter, type RateLimitChannel, serveRateLimiter } from "./remote-rate-limiter.js";

/** Two ends of an IPC-like link: asynchronous delivery, messages copied (as process.send serialises them). */
function channelPair(): [RateLimitChannel, RateLimitChannel & { cut(): void }] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  let cut = false;
  const end = (mine: 0 | 1) => ({
    send(message: unknown) {
      if (cut) throw new Error("channel closed");
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
