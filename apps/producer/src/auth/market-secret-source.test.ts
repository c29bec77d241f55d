// Against a real HTTP server that answers as BaritoMarket's GET /api/v2/profile does (200 with the app's profile,
// 404 for an unknown or inactive app's secret).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@barito-flow/logger";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { ProduceError } from "../produce/produce-error.js";
import type { SecretSource } from "./app-authenticator.js";
import { createMarketSecretSource } from "./market-secret-source.js";
import { createSecretDigester } from "./secret-digest.js";
import type { AppGrant } from "./secret-table.js";

const apps = new Map([["market-secret-1", "shop"]]);
let requests: URL[] = [];
let mode: "up" | "500" | "hang" = "up";
const lines: string[] = [];
const logger: Logger = {
  debug: () => {},
  info: (msg, meta) => lines.push(JSON.stringify({ msg, ...meta })),
  warn: (msg, meta) => lines.push(JSON.stringify({ msg, ...meta })),
  error: (msg, meta) => lines.push(JSON.stringify({ msg, ...meta })),
  child: () => logger,
};

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const requested = new URL(req.url ?? "/", "http://market");
    requests.push(requested);
    if (mode === "hang") return;
    if (mode === "500") {
      res.writeHead(500).end("boom");
      return;
    }
    if (requested.searchParams.get("access_token") !== "market-access") {
      res.writeHead(401, { "content-type": "application/json" }).end('"Unauthorized"');
      return;
    }
    const topic = apps.get(requested.searchParams.get("app_secret") ?? "");
    if (topic === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: false, errors: ["App not found or inactive"], code: 404 }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: 1, name: topic, meta: { kafka: { topic_name: topic, partition: 50 } } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/profile`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = [];
  mode = "up";
  lines.length = 0;
});

function source(options: { now?: () => number; accessToken?: string; timeoutMs?: number } = {}) {
  return createMarketSecretSource({
    url,
    accessToken: options.accessToken ?? "market-access",
    digester: createSecretDigester(),
    cacheTtlMs: 60_000,
    timeoutMs: options.timeoutMs ?? 2_000,
    logger,
    ...(options.now ? { now: options.now } : {}),
  });
}
async function topicsOf(market: SecretSource, secret: string): Promise<string[] | undefined> {
  const grant: AppGrant | undefined = await market.lookup(secret);
  return grant && [...grant.topics];
}

describe("createMarketSecretSource", () => {
  it("grants a known secret its profile's topic, refuses an unknown one, and sends the access token", async () => {
    const market = source();
    expect(await topicsOf(market, "market-secret-1")).toEqual(["shop"]);
    expect(await topicsOf(market, "not-an-app")).toBeUndefined();
    expect(requests.map((r) => [r.pathname, r.searchParams.get("access_token")])).toEqual([
      ["/api/v2/profile", "market-access"],
      ["/api/v2/profile", "market-access"],
    ]);
  });

  it("answers from its cache, shares one request among concurrent lookups, and refreshes after the TTL", async () => {
    let now = 0;
    const market = source({ now: () => now });
    const [a, b] = await Promise.all([market.lookup("market-secret-1"), market.lookup("market-secret-1")]);
    expect(a).toBe(b);
    expect(requests).toHaveLength(1);
    // Cached: answered synchronously, no request.
    expect(market.lookup("market-secret-1")).toBe(a);
    expect(requests).toHaveLength(1);
    now = 61_000;
    // Stale: still answered at once from the cache, refreshed behind it.
    expect(market.lookup("market-secret-1")).toBe(a);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(2);
    // The app is gone: the refresh taught it, the next lookup refuses.
    apps.delete("market-secret-1");
    now = 130_000;
    market.lookup("market-secret-1");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(market.lookup("market-secret-1")).toBeUndefined();
    apps.set("market-secret-1", "shop");
  });

  it("keeps the last good answer while the market fails, and says AUTH_UNAVAILABLE for a secret it never answered", async () => {
    let now = 0;
    const market = source({ now: () => now });
    expect(await topicsOf(market, "market-secret-1")).toEqual(["shop"]);
    mode = "500";
    now = 61_000;
    expect(await topicsOf(market, "market-secret-1")).toEqual(["shop"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await topicsOf(market, "market-secret-1")).toEqual(["shop"]);
    const error = await Promise.resolve(market.lookup("never-seen-secret")).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProduceError);
    expect(error).toMatchObject({ code: "AUTH_UNAVAILABLE", httpStatus: 503 });
    expect(lines.some((line) => line.includes("unreachable"))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/market-secret-1|never-seen-secret|market-access/);
  });

  it("treats a refused access token and a hanging market as unavailable, not as unknown secrets", async () => {
    const refused = await Promise.resolve(source({ accessToken: "wrong" }).lookup("market-secret-1")).catch(
      (err: unknown) => err,
    );
    expect(refused).toMatchObject({ code: "AUTH_UNAVAILABLE" });
    mode = "hang";
    const hung = await Promise.resolve(source({ timeoutMs: 100 }).lookup("market-secret-1")).catch(
      (err: unknown) => err,
    );
    expect(hung).toMatchObject({ code: "AUTH_UNAVAILABLE" });
    expect(JSON.stringify(lines)).not.toContain("market-secret-1");
  });
});
