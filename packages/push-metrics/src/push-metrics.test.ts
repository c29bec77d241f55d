import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import type { Logger, LogMeta } from "@barito-flow/logger";
import { createPushMetrics, type PushResult } from "./push-metrics.js";

interface Received {
  method: string | undefined;
  contentType: string | undefined;
  authorization?: string | undefined;
  body: unknown;
}

/** A real HTTP server on a loopback port: answers each request with the next of `answers` (then the last one). */
async function market(answers: Array<(res: ServerResponse) => void>) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      received.push({
        method: req.method,
        contentType: req.headers["content-type"],
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body: JSON.parse(text),
      });
      const answer = answers[Math.min(received.length - 1, answers.length - 1)];
      answer?.(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/api/increase_log_count`, received, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const ok = (res: ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end('{"data":[]}');
const status = (code: number) => (res: ServerResponse) => res.writeHead(code).end("x".repeat(10_000));

function recordingLogger() {
  const lines: Array<{ msg: string; meta?: LogMeta }> = [];
  const logger: Logger = {
    debug: (msg, meta) => lines.push({ msg, meta }),
    info: (msg, meta) => lines.push({ msg, meta }),
    warn: (msg, meta) => lines.push({ msg, meta }),
    error: (msg, meta) => lines.push({ msg, meta }),
    child: () => logger,
  };
  return { logger, lines };
}

describe("createPushMetrics", () => {
  it("POSTs barito's body with the counts since the last push, as JSON", async () => {
    const { url, received } = await market([ok]);
    const push = createPushMetrics({ url, intervalMs: 60_000 });
    push.add("secret-a", 3);
    push.add("secret-b");
    push.add("secret-a", 2);
    expect(await push.push()).toEqual({ ok: true, tokens: 2, logs: 6, status: 200 });
    expect(received).toEqual([
      {
        method: "POST",
        contentType: "application/json",
        body: {
          application_groups: [
            { token: "secret-a", new_log_count: 5 },
            { token: "secret-b", new_log_count: 1 },
          ],
        },
      },
    ]);
    // Counted once: the next push has nothing to send, and sends nothing.
    expect(await push.push()).toBeUndefined();
    expect(received).toHaveLength(1);
  });

  it("keeps the counts of a refused push (and of one that got no answer) for the next push", async () => {
    const { url, received } = await market([status(503), ok]);
    const results: PushResult[] = [];
    let dropped = 0;
    const push = createPushMetrics({
      url,
      intervalMs: 60_000,
      onPush: (r) => results.push(r),
      onDropped: (n) => (dropped += n),
    });
    push.add("a", 2);
    expect(await push.push()).toMatchObject({ ok: false, status: 503, reason: "http_503" });
    push.add("a", 1);
    push.add("b", 4);
    expect(await push.push()).toMatchObject({ ok: true });
    expect(received[1]?.body).toEqual({
      application_groups: [
        { token: "a", new_log_count: 3 },
        { token: "b", new_log_count: 4 },
      ],
    });
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(dropped).toBe(0);
    expect(received.map((r) => r.authorization)).toEqual([undefined, undefined]);

    const closed = await market([ok]);
    const deadUrl = closed.url;
    closed.server.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const unreachable = createPushMetrics({ url: deadUrl, intervalMs: 60_000 });
    unreachable.add("c", 7);
    expect(await unreachable.push()).toMatchObject({ ok: false, reason: "ECONNREFUSED" });
    expect(unreachable.pending()).toEqual({ tokens: 1, logs: 7 });
  });

  it("bounds a request by the interval when it is below 10 s", async () => {
    const { url } = await market([() => {}]);
    const push = createPushMetrics({ url, intervalMs: 150 });
    push.add("a", 1);
    const started = Date.now();
    expect(await push.push()).toMatchObject({ ok: false, reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("gives up on a market that does not answer within the timeout, and keeps the counts", async () => {
    const { url } = await market([() => {}]);
    const push = createPushMetrics({ url, intervalMs: 60_000, timeoutMs: 200 });
    push.add("a", 1);
    const started = Date.now();
    expect(await push.push()).toMatchObject({ ok: false, reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(push.pending()).toEqual({ tokens: 1, logs: 1 });
  });

  it("keeps at most maxTokens tokens while pushes fail, and reports the logs it drops", async () => {
    const { url, received } = await market([status(500), ok]);
    let dropped = 0;
    const push = createPushMetrics({ url, intervalMs: 60_000, maxTokens: 2, onDropped: (n) => (dropped += n) });
    push.add("a", 1);
    push.add("b", 1);
    push.add("c", 5);
    expect(dropped).toBe(5);
    await push.push();
    // Counted while the failed push was out: kept only within the cap, the failed batch first.
    push.add("d", 3);
    push.add("a", 1);
    expect(push.pending()).toEqual({ tokens: 2, logs: 3 });
    expect(dropped).toBe(8);
    await push.push();
    expect(received[1]?.body).toEqual({
      application_groups: [
        { token: "a", new_log_count: 2 },
        { token: "b", new_log_count: 1 },
      ],
    });
    expect(dropped).toBe(8);
  });

  it("drops, when a failed batch comes back, what no longer fits beside the counts made meanwhile", async () => {
    const { url } = await market([status(500)]);
    let dropped = 0;
    const push = createPushMetrics({ url, intervalMs: 60_000, maxTokens: 2, onDropped: (n) => (dropped += n) });
    push.add("a", 1);
    push.add("b", 2);
    const out = push.push();
    // Counted while the push is out: the failed batch goes back first, so "c" no longer fits.
    push.add("c", 4);
    await out;
    expect(push.pending()).toEqual({ tokens: 2, logs: 3 });
    expect(dropped).toBe(4);
  });

  it("sends one request for pushes asked while one is out, and logs a success at debug without the tokens", async () => {
    const { url, received } = await market([ok]);
    const { logger, lines } = recordingLogger();
    const push = createPushMetrics({ url, intervalMs: 60_000, logger });
    push.add("tok-1", 2);
    const [first, second] = await Promise.all([push.push(), push.push()]);
    expect(first).toBe(second);
    expect(received).toHaveLength(1);
    expect(lines).toEqual([{ msg: "pushed log counts", meta: { url, tokens: 1, logs: 2 } }]);
  });

  it("never writes a token into its log lines", async () => {
    const { url, received } = await market([status(500)]);
    const { logger, lines } = recordingLogger();
    const push = createPushMetrics({ url: url.replace("http://", "http://user:pw@"), intervalMs: 60_000, logger });
    push.add("very-secret-token", 1);
    await push.push();
    expect(lines).toEqual([
      {
        msg: "pushing log counts failed; they are kept for the next push",
        meta: { url: expect.stringContaining("127.0.0.1"), reason: "http_500", tokens: 1, logs: 1 },
      },
    ]);
    const written = JSON.stringify(lines);
    expect(written).not.toContain("very-secret-token");
    expect(written).not.toContain("pw@");
    // The URL's credentials reach the market as basic auth (fetch refuses them in the URL).
    expect(received[0]?.authorization).toBe(`Basic ${Buffer.from("user:pw").toString("base64")}`);
  });

  it("pushes every interval once started, and once more at stop", async () => {
    const { url, received } = await market([ok]);
    const push = createPushMetrics({ url, intervalMs: 100 });
    push.start();
    push.add("a", 1);
    const until = Date.now() + 3_000;
    while (received.length < 1 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toHaveLength(1);
    push.add("a", 2);
    await push.stop(1_000);
    expect(received.at(-1)?.body).toEqual({ application_groups: [{ token: "a", new_log_count: 2 }] });
    // Stopped: counted logs wait for a push nobody makes.
    const count = received.length;
    push.add("a", 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toHaveLength(count);
  });

  it("at stop, lets a push already out finish, then pushes what came after it; a second start adds no timer", async () => {
    let answerFirst: (() => void) | undefined;
    const { url, received } = await market([(res) => (answerFirst = () => ok(res)), ok]);
    const push = createPushMetrics({ url, intervalMs: 60_000 });
    push.start();
    push.start();
    push.add("a", 1);
    const out = push.push();
    push.add("a", 5);
    const until = Date.now() + 2_000;
    while (!answerFirst && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    const stopping = push.stop(2_000);
    answerFirst?.();
    await out;
    await stopping;
    expect(received.map((r) => r.body)).toEqual([
      { application_groups: [{ token: "a", new_log_count: 1 }] },
      { application_groups: [{ token: "a", new_log_count: 5 }] },
    ]);
  });

  it("ends stop within its budget when the market does not answer", async () => {
    const { url } = await market([() => {}]);
    const push = createPushMetrics({ url, intervalMs: 60_000, timeoutMs: 4_000 });
    push.add("a", 1);
    const started = Date.now();
    await push.stop(200);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("names a transport failure by its code, and survives an onPush that throws", async () => {
    const failing = (error: unknown) =>
      createPushMetrics({ url: "http://market.invalid/", intervalMs: 1_000, fetch: () => Promise.reject(error) });
    for (const [error, reason] of [
      [Object.assign(new Error("x"), { code: "EPIPE" }), "EPIPE"],
      [new Error("x"), "transport_error"],
      [undefined, "transport_error"],
    ] as const) {
      const push = failing(error);
      push.add("a", 1);
      expect(await push.push()).toMatchObject({ ok: false, reason });
    }
    const { url } = await market([ok]);
    const { logger, lines } = recordingLogger();
    const push = createPushMetrics({
      url: url.replace("http://", "http://user-only@"),
      intervalMs: 60_000,
      logger,
      onPush: () => {
        throw new Error("listener bug");
      },
    });
    push.add("a", 1);
    expect(await push.push()).toMatchObject({ ok: true });
    expect(lines.map((line) => line.msg)).toEqual(["pushed log counts", "onPush listener threw"]);
  });

  it("ignores empty tokens and non-positive counts, and refuses a bad interval", async () => {
    const push = createPushMetrics({ url: "http://127.0.0.1:1/", intervalMs: 1_000 });
    push.add("", 3);
    push.add("a", 0);
    push.add("a", -1);
    expect(push.pending()).toEqual({ tokens: 0, logs: 0 });
    expect(() => createPushMetrics({ url: "http://127.0.0.1:1/", intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
