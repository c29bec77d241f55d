import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  ConsulError,
  createConsulClient,
  elasticsearchUrls,
  kafkaBrokers,
  type FetchLike,
  normaliseConsulUrl,
  redisUrl,
} from "./consul-client.js";
import { startConsulDouble } from "./testing/consul-double.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A Consul stand-in whose health answer per service the test sets (and changes); records the paths asked. */
async function consulStandIn(answer: (service: string, res: ServerResponse) => void) {
  const paths: string[] = [];
  const headers: Array<Record<string, string | string[] | undefined>> = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? "");
    headers.push(req.headers);
    const match = /^\/v1\/health\/service\/([^?]+)/.exec(req.url ?? "");
    if (!match) return void res.writeHead(404).end();
    answer(decodeURIComponent(match[1] as string), res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, headers };
}

/** A loopback address nothing listens on (a port just released). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const json = (res: ServerResponse, body: unknown) =>
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));

function entry(address: string, port: number, statuses: string[], extra: { node?: string; meta?: object } = {}) {
  return {
    Node: { Node: `node-${address}`, Address: extra.node ?? "10.9.9.9" },
    Service: { Service: "svc", Address: address, Port: port, ...(extra.meta ? { Meta: extra.meta } : {}) },
    Checks: statuses.map((Status, i) => ({ CheckID: `c${i}`, Status })),
  };
}

describe("passingInstances against HashiCorp's Consul API double", () => {
  it("reads the health API's answer: service address and port of each entry", async () => {
    const double = await startConsulDouble({ env: { CONSUL_NODE_COUNT: "4", CONSUL_CHECK_COUNT: "0" } });
    closers.push(double.close);
    // The double renders new random instances per request: the answer the client got is recorded on its way in.
    let raw: Array<{ Service: { Address: string; Port: number } }> = [];
    const recording: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      raw = (await response.clone().json()) as typeof raw;
      return response;
    };
    const instances = await createConsulClient({ url: double.url, fetch: recording }).passingInstances("kafka");
    expect(raw).toHaveLength(4);
    const usable = raw.filter((e) => e.Service.Port > 0).map((e) => `${e.Service.Address}:${e.Service.Port}`);
    expect(usable.length).toBeGreaterThan(0);
    expect(kafkaBrokers(instances)).toEqual(usable);
  });

  it("does not take instances with a failing check even when the answer has them (the double ignores ?passing)", async () => {
    // The double's first two checks of every node are critical.
    const double = await startConsulDouble({ env: { CONSUL_NODE_COUNT: "3", CONSUL_CHECK_COUNT: "3" } });
    closers.push(double.close);
    const lookup = createConsulClient({ url: double.url }).passingInstances("elasticsearch");
    await expect(lookup).rejects.toThrow(ConsulError);
    await expect(lookup).rejects.toMatchObject({ code: "NO_INSTANCES", service: "elasticsearch" });
    await expect(lookup).rejects.toThrow(/no passing instance of service elasticsearch \(3 registered entries/);
  });

  it("builds Elasticsearch URLs with the scheme of ServiceMeta http_schema", async () => {
    const double = await startConsulDouble({
      env: { CONSUL_NODE_COUNT: "2", CONSUL_CHECK_COUNT: "0" },
      mutate: {
        url: (url) => url.startsWith("/v1/health/service/elasticsearch"),
        body: (body) =>
          (body as Array<{ Service: { Port: number; Meta?: object } }>).map((e, i) => ({
            ...e,
            Service: { ...e.Service, Port: 9200 + i, Meta: i === 0 ? { http_schema: "https" } : {} },
          })),
      },
    });
    closers.push(double.close);
    const urls = elasticsearchUrls(await createConsulClient({ url: double.url }).passingInstances("elasticsearch"));
    expect(urls).toHaveLength(2);
    expect(urls[0]).toMatch(/^https:\/\/[\d.]+:9200$/);
    expect(urls[1]).toMatch(/^http:\/\/[\d.]+:9201$/);
  });
});

describe("passingInstances against a Consul stand-in", () => {
  it("asks /v1/health/service/<name>?passing and keeps only instances whose every check passes", async () => {
    const consul = await consulStandIn((_service, res) =>
      json(res, [
        entry("10.0.0.1", 9092, ["passing", "passing"]),
        entry("10.0.0.2", 9092, ["passing", "critical"]),
        entry("10.0.0.3", 9092, ["warning"]),
        entry("", 9093, ["passing"], { node: "10.0.0.4" }),
        entry("10.0.0.5", 0, ["passing"]),
        entry("fd00::6", 9092, []),
        entry("10.0.0.7", 65_535, ["passing"]),
        entry("10.0.0.8", 65_536, ["passing"]),
        entry("10.0.0.9", 1, ["passing"]),
        entry("10.0.0.10", 90.5, ["passing"]),
        { ...entry("10.0.0.11", 9092, []), Service: { Address: "10.0.0.11", Port: "9092" } },
        { Service: { Address: 7, Port: 9094 }, Node: { Address: "10.0.0.12" }, Checks: [] },
        { Service: { Address: "", Port: 9095 }, Checks: [] },
        { ...entry("10.0.0.13", 9092, []), Checks: [null] },
        null,
        "junk",
      ]),
    );
    const instances = await createConsulClient({ url: `${consul.url}/` }).passingInstances("kafka blue");
    expect(consul.paths).toEqual(["/v1/health/service/kafka%20blue?passing"]);
    expect(consul.headers[0]?.accept).toBe("application/json");
    expect(consul.headers[0]?.authorization).toBeUndefined();
    expect(kafkaBrokers(instances)).toEqual([
      "10.0.0.1:9092",
      "10.0.0.4:9093",
      "[fd00::6]:9092",
      "10.0.0.7:65535",
      "10.0.0.9:1",
      "10.0.0.12:9094",
    ]);
  });

  it("keeps only string ServiceMeta values, and sends a URL's credentials as basic auth", async () => {
    const consul = await consulStandIn((_service, res) =>
      json(res, [
        entry("10.0.0.1", 9200, [], { meta: { http_schema: "HTTPS", weight: 3, tls: "true" } }),
        { ...entry("10.0.0.2", 9200, []), Service: { Address: "10.0.0.2", Port: 9200, Meta: null } },
      ]),
    );
    const url = consul.url.replace("http://", "http://ops:p%40ss@");
    const instances = await createConsulClient({ url }).passingInstances("es");
    expect(instances.map((i) => i.meta)).toEqual([{ http_schema: "HTTPS", tls: "true" }, {}]);
    expect(elasticsearchUrls(instances)).toEqual(["https://10.0.0.1:9200", "http://10.0.0.2:9200"]);
    expect(consul.headers[0]?.authorization).toBe(`Basic ${Buffer.from("ops:p@ss").toString("base64")}`);
    await createConsulClient({ url: consul.url.replace("http://", "http://ops@") }).passingInstances("es");
    expect(consul.headers[1]?.authorization).toBe(`Basic ${Buffer.from("ops:").toString("base64")}`);
    expect(consul.paths[1]).toBe("/v1/health/service/es?passing");
  });

  it("says clearly when a service has no instance, and when Consul fails", async () => {
    const consul = await consulStandIn((service, res) => {
      if (service === "empty") return json(res, []);
      if (service === "broken") return void res.writeHead(500).end("boom");
      if (service === "garbled") return void res.writeHead(200).end("<html>");
      if (service === "odd") return json(res, { not: "a list" });
    });
    const client = createConsulClient({ url: consul.url, timeoutMs: 300 });
    await expect(client.passingInstances("empty")).rejects.toMatchObject({
      code: "NO_INSTANCES",
      message: expect.stringMatching(/no passing instance of service empty \(0 registered/),
    });
    await expect(client.passingInstances("broken")).rejects.toMatchObject({
      code: "UNREACHABLE",
      message: expect.stringMatching(/answered 500 for service broken/),
    });
    const garbled = await client.passingInstances("garbled").catch((err: unknown) => err as ConsulError);
    expect(garbled).toMatchObject({ code: "BAD_RESPONSE", message: "Consul's answer for service garbled is not JSON" });
    expect((garbled as ConsulError).cause).toBeDefined();
    await expect(client.passingInstances("odd")).rejects.toMatchObject({ code: "BAD_RESPONSE" });
    await expect(client.passingInstances("odd")).rejects.toThrow("Consul's answer for service odd is not a list");
    const started = Date.now();
    const silent = await client.passingInstances("silent").catch((err: unknown) => err as ConsulError);
    expect(silent).toMatchObject({ code: "UNREACHABLE", name: "ConsulError", retriable: true });
    expect((silent as ConsulError).message).toMatch(/did not answer: timeout/);
    expect((silent as ConsulError).cause).toBeDefined();
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(createConsulClient({ url: await closedPortUrl() }).passingInstances("x")).rejects.toMatchObject({
      code: "UNREACHABLE",
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it("says what a failing fetch adapter said, and a timeout however the adapter names it", async () => {
    const failing = (error: unknown) => createConsulClient({ url: "consul:8500", fetch: () => Promise.reject(error) });
    await expect(failing(new Error("socket hang up")).passingInstances("x")).rejects.toThrow(
      "Consul at http://consul:8500 did not answer: socket hang up",
    );
    const aborted = Object.assign(new Error("aborted"), { name: "AbortError" });
    await expect(failing(aborted).passingInstances("x")).rejects.toThrow(/did not answer: timeout$/);
    await expect(failing({ cause: { code: 42 } }).passingInstances("x")).rejects.toThrow(/did not answer: \[object/);
  });

  it("never puts the credentials of Consul's URL into an error", async () => {
    const url = (await closedPortUrl()).replace("http://", "http://user:hunter22@");
    const lookup = createConsulClient({ url }).passingInstances("x");
    await expect(lookup).rejects.toThrow(ConsulError);
    await expect(lookup).rejects.not.toThrow(/hunter22/);
  });
});

describe("addresses", () => {
  const instance = (address: string, port: number, meta: Record<string, string> = {}) => ({ address, port, meta });
  it("normalises barito's host:port Consul address to http", () => {
    expect(normaliseConsulUrl("consul:8500")).toBe("http://consul:8500");
    expect(normaliseConsulUrl("https://consul:8501/")).toBe("https://consul:8501");
    expect(normaliseConsulUrl(" consul:8500// ")).toBe("http://consul:8500");
    expect(normaliseConsulUrl("consul:8500/x?next=http://y")).toBe("http://consul:8500/x?next=http://y");
  });
  it("makes a Redis URL of the first instance, rediss when its meta says tls", () => {
    expect(redisUrl([instance("10.0.0.7", 6379), instance("10.0.0.8", 6379)])).toBe("redis://10.0.0.7:6379");
    expect(redisUrl([instance("r", 6380, { tls: "true" })])).toBe("rediss://r:6380");
    expect(() => redisUrl([])).toThrow(new RangeError("redisUrl needs at least one instance"));
  });
});
