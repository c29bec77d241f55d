import { describe, expect, it, jest } from "@jest/globals";
import type { Logger, LogMeta } from "@barito-flow/logger";
import { Registry } from "prom-client";
import type { RedactionSettings } from "../config.js";
import { createRedactionMetrics } from "./metrics.js";
import { createRedactor } from "./redactor.js";
import { RulesFormatError } from "./rules.js";
import { createRulesSource, RulesLoadError, rulesSourceKind, validateInlineRules } from "./sources.js";

const noSources: RedactionSettings = {
  rulesMap: undefined,
  rulesFile: undefined,
  marketEndpointUrl: undefined,
  marketClientKey: undefined,
  clusterName: undefined,
};

function capturingLogger(entries: Array<{ level: string; msg: string; meta?: LogMeta }>): Logger {
  const logger: Logger = {
    debug: (msg, meta) => entries.push({ level: "debug", msg, ...(meta ? { meta } : {}) }),
    info: (msg, meta) => entries.push({ level: "info", msg, ...(meta ? { meta } : {}) }),
    warn: (msg, meta) => entries.push({ level: "warn", msg, ...(meta ? { meta } : {}) }),
    error: (msg, meta) => entries.push({ level: "error", msg, ...(meta ? { meta } : {}) }),
    child: () => logger,
  };
  return logger;
}

const secretRules = (name: string) => JSON.stringify({ default: { StaticRules: [{ Name: name, Regex: "secret" }] } });

function setup(settings: Partial<RedactionSettings>, extra: Partial<Parameters<typeof createRulesSource>[0]> = {}) {
  const registry = new Registry();
  const metrics = createRedactionMetrics(registry);
  const redactor = createRedactor();
  const logs: Array<{ level: string; msg: string; meta?: LogMeta }> = [];
  const source = createRulesSource({
    settings: { ...noSources, ...settings },
    redactor,
    metrics,
    logger: capturingLogger(logs),
    retryMinMs: 5,
    retryMaxMs: 20,
    ...extra,
  });
  return { source, redactor, registry, logs };
}

/** A fake market: answers from a queue of responses (the last one repeats) and records the URLs asked. */
function fakeMarket(responses: Array<() => Response | Promise<Response>>) {
  const urls: URL[] = [];
  const fetchFn = (async (input: URL | string) => {
    urls.push(new URL(String(input)));
    const next = responses.length > 1 ? responses.shift() : responses[0];
    if (!next) throw new Error("no response");
    return next();
  }) as typeof fetch;
  return { urls, fetchFn };
}

const json =
  (body: string, status = 200) =>
  () =>
    new Response(body, { status });

describe("rulesSourceKind()", () => {
  it("prefers inline rules, then the file, then the market", () => {
    expect(rulesSourceKind(noSources)).toBe("none");
    expect(rulesSourceKind({ ...noSources, marketEndpointUrl: "http://m" })).toBe("market");
    expect(rulesSourceKind({ ...noSources, marketEndpointUrl: "http://m", rulesFile: "/r" })).toBe("file");
    expect(rulesSourceKind({ ...noSources, rulesFile: "/r", rulesMap: "{}" })).toBe("inline");
    expect(rulesSourceKind({ ...noSources, rulesMap: "  " })).toBe("none");
  });

  it("validates inline rules at startup with a clear error", () => {
    expect(() => validateInlineRules({ ...noSources, rulesMap: "{bad" })).toThrow(RulesFormatError);
    expect(validateInlineRules({ ...noSources, rulesMap: secretRules("S") })?.rules.size).toBe(1);
    expect(validateInlineRules(noSources)).toBeUndefined();
  });
});

describe("createRulesSource()", () => {
  it("inline: applies the rules and reports rule counts and rejections as metrics", async () => {
    const rulesMap = JSON.stringify({
      default: {
        StaticRules: [
          { Name: "S", Regex: "secret" },
          { Name: "BAD", Regex: "(" },
        ],
      },
    });
    const { source, redactor, registry, logs } = setup({ rulesMap });
    await source.start();
    expect(redactor.redact("any", '{"m":"a secret"}')).toBe('{"m":"a [S REDACTED]"}');
    const text = await registry.metrics();
    expect(text).toMatch(/barito_redaction_status\{app_name="default",type="StaticRules"\} 1/);
    expect(text).toMatch(
      /barito_consumer_redaction_rules_rejected_total\{app_name="default",type="StaticRules",code="invalid_regex"\} 1/,
    );
    expect(logs.some((l) => l.level === "warn" && l.msg === "redaction rule rejected")).toBe(true);
    expect(source.status()).toMatchObject({ kind: "inline", loaded: true, lastError: undefined });
    source.stop();
  });

  it("inline: a map that is not a JSON object rejects start()", async () => {
    const { source } = setup({ rulesMap: "[1]" });
    await expect(source.start()).rejects.toThrow(RulesFormatError);
  });

  it("market: asks with escaped cluster name and client key, never logs the key", async () => {
    const market = fakeMarket([json(secretRules("M"))]);
    const { source, redactor, logs } = setup(
      {
        marketEndpointUrl: "http://market.local/api/fetch_redact_labels",
        clusterName: "c 1",
        marketClientKey: "k&=ey",
      },
      { fetch: market.fetchFn },
    );
    await source.start();
    source.stop();
    expect(market.urls[0]?.searchParams.get("cluster_name")).toBe("c 1");
    expect(market.urls[0]?.searchParams.get("client_key")).toBe("k&=ey");
    expect(market.urls[0]?.pathname).toBe("/api/fetch_redact_labels");
    expect(redactor.redact("x", '"secret"')).toBe('"[M REDACTED]"');
    expect(JSON.stringify(logs)).not.toContain("k&=ey");
  });

  it("market: retries the first load until it succeeds (a 404 for a wrong key is an error, not empty rules)", async () => {
    const market = fakeMarket([
      json('{"success":false,"errors":["Unauthorized"],"code":401}', 404),
      () => Promise.reject(new TypeError("fetch failed")),
      json("not json"),
      json(secretRules("LATE")),
    ]);
    const { source, redactor, registry, logs } = setup(
      { marketEndpointUrl: "http://market.local/api", marketClientKey: "topsecretkey" },
      { fetch: market.fetchFn },
    );
    await source.start();
    source.stop();
    expect(market.urls).toHaveLength(4);
    expect(redactor.redact("x", '"secret"')).toBe('"[LATE REDACTED]"');
    expect(await registry.metrics()).toMatch(/barito_consumer_redaction_rules_load_errors_total\{source="market"\} 3/);
    const warnings = logs.filter((l) => l.level === "warn").map((l) => l.meta?.reason);
    expect(warnings).toEqual([
      "market answered HTTP 404",
      "TypeError: fetch failed",
      expect.stringMatching(/not valid JSON/),
    ]);
    expect(JSON.stringify(logs)).not.toContain("topsecretkey");
  });

  it("market: refreshes, keeps the last good rules when a refresh fails, and drops removed apps", async () => {
    const market = fakeMarket([
      json(secretRules("ONE")),
      json("", 500),
      json(JSON.stringify({ other: { StaticRules: [{ Name: "TWO", Regex: "secret" }] } })),
    ]);
    const { source, redactor, registry } = setup(
      { marketEndpointUrl: "http://market.local/api" },
      { fetch: market.fetchFn, refreshIntervalMs: 10 },
    );
    await source.start();
    expect(redactor.redact("x", '"secret"')).toBe('"[ONE REDACTED]"');
    await waitFor(() => market.urls.length >= 2);
    expect(redactor.redact("x", '"secret"')).toBe('"[ONE REDACTED]"');
    expect(source.status().lastError).toBe("market answered HTTP 500");
    await waitFor(() => market.urls.length >= 3 && redactor.redact("other", '"secret"') === '"[TWO REDACTED]"');
    source.stop();
    expect(redactor.redact("x", '"secret"')).toBe('"secret"');
    const text = await registry.metrics();
    expect(text).toMatch(/barito_redaction_status\{app_name="other",type="StaticRules"\} 1/);
    expect(text).not.toMatch(/app_name="default"/);
  });

  it("market: a request that hangs times out instead of blocking the refresh", async () => {
    const market = fakeMarket([() => new Promise<Response>(() => undefined), json(secretRules("OK"))]);
    const hangingThenOk = (async (input: URL | string, init?: RequestInit) => {
      const response = market.fetchFn(input, init);
      return Promise.race([
        response,
        new Promise<Response>((_, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
        ),
      ]);
    }) as typeof fetch;
    const { source, logs } = setup(
      { marketEndpointUrl: "http://market.local/api" },
      { fetch: hangingThenOk, requestTimeoutMs: 30 },
    );
    await source.start();
    source.stop();
    expect(logs.find((l) => l.level === "warn")?.meta?.reason).toBe("no answer within 30 ms");
  });

  it("file: reads the rules file and re-reads it on refresh", async () => {
    let content = secretRules("F1");
    const { source, redactor } = setup(
      { rulesFile: "/etc/rules.json" },
      { readText: async (path) => (path === "/etc/rules.json" ? content : ""), refreshIntervalMs: 10 },
    );
    await source.start();
    expect(redactor.redact("x", '"secret"')).toBe('"[F1 REDACTED]"');
    content = secretRules("F2");
    await waitFor(() => redactor.redact("x", '"secret"') === '"[F2 REDACTED]"');
    source.stop();
  });

  it("stop() before the first successful load ends start() with an error instead of hanging", async () => {
    const market = fakeMarket([json("", 503)]);
    const { source } = setup(
      { marketEndpointUrl: "http://market.local/api" },
      { fetch: market.fetchFn, retryMinMs: 10_000 },
    );
    const started = source.start();
    await waitFor(() => market.urls.length === 1);
    source.stop();
    await expect(started).rejects.toThrow(/stopped before/);
    expect(source.status()).toMatchObject({ loaded: false, lastError: "market answered HTTP 503" });
  });

  it("stop() while the first load is on its way ends start() and leaves the rules it brought unapplied", async () => {
    let answer: (response: Response) => void = () => {};
    const fetchFn = (() => new Promise<Response>((resolve) => (answer = resolve))) as typeof fetch;
    const { source, redactor } = setup({ marketEndpointUrl: "http://market.local/api" }, { fetch: fetchFn });
    const started = source.start();
    source.stop();
    answer(new Response(secretRules("LATE")));
    await expect(started).rejects.toThrow(RulesLoadError);
    expect(redactor.redact("x", '"secret"')).toBe('"secret"');
    expect(source.status().loaded).toBe(false);
  });

  it("waits between first-load attempts from half of retryMinMs, doubling, at most retryMaxMs", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
    // The smallest draw: each wait is its lower bound.
    const random = jest.spyOn(Math, "random").mockReturnValue(0);
    try {
      const market = fakeMarket([json("", 503)]);
      const { source } = setup(
        { marketEndpointUrl: "http://market.local/api" },
        { fetch: market.fetchFn, retryMinMs: 1_000, retryMaxMs: 3_000 },
      );
      const started = source.start().catch((error: unknown) => error);
      await jest.advanceTimersByTimeAsync(0);
      const asked: number[] = [market.urls.length];
      for (const wait of [500, 1_000, 2_000, 3_000]) {
        await jest.advanceTimersByTimeAsync(wait - 1);
        asked.push(market.urls.length);
        await jest.advanceTimersByTimeAsync(1);
        asked.push(market.urls.length);
      }
      expect(asked).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5]);
      source.stop();
      expect(await started).toEqual(new RulesLoadError("stopped before the redaction rules were loaded"));
    } finally {
      random.mockRestore();
      jest.useRealTimers();
    }
  });

  it("none: nothing to load, documents pass unchanged", async () => {
    const { source, redactor } = setup({});
    await source.start();
    expect(source.status()).toMatchObject({ kind: "none", loaded: true });
    expect(redactor.redact("x", '"secret"')).toBe('"secret"');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
