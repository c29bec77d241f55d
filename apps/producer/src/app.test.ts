// The composed producer app with fake adapters, in one process: REST through its Node handler on a loopback port,
// Connect, gRPC and gRPC-Web framing through connect's in-memory router, and gRPC through the fast path.
import { connect as connectHttp2 } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { loadProducerConfig } from "./config.js";
import { noopLogger } from "@barito-flow/logger";
import { Producer, TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import {
  Code,
  ConnectError,
  createClient,
  createConnectRouter,
  createRouterTransport,
  type Transport,
} from "@connectrpc/connect";
import { createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import { createProducerApp, type ProducerApp } from "./app.js";
import { createProducerMetrics } from "./metrics.js";
import type { OutgoingRecord } from "./produce/ports.js";

const published: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
const accepted: Array<[string, number]> = [];
const ensured: string[] = [];
const metrics = createProducerMetrics("_logs");
let app: ProducerApp;
let rest = "";
let grpcPort = 0;

const context = { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 100 };
const restContext = { kafka_topic: "shop", es_index_prefix: "shop", app_max_tps: 100 };

beforeAll(async () => {
  app = createProducerApp({
    config: loadProducerConfig({ BARITO_KAFKA_BROKERS: "127.0.0.1:1" }),
    logger: noopLogger,
    publisher: {
      async publish(topic, records) {
        published.push({ topic, records });
      },
      isConnected: () => true,
    },
    admin: { ping: async () => true },
    topics: {
      async ensure(topic) {
        ensured.push(topic);
      },
      pendingAnnouncements: () => 0,
      close: async () => undefined,
    },
    // The app "limited" has used up its window.
    rateLimiter: {
      async take(key) {
        return key === "limited_logs"
          ? { allowed: false, retryAfterMs: 2_500, limit: 100 }
          : { allowed: true, retryAfterMs: 0, limit: 100 };
      },
    },
    metrics,
    clock: () => new Date("2026-03-04T05:06:07.890Z"),
    countAccepted: (appSecret, logs) => void accepted.push([appSecret, logs]),
  });
  const loopback = { host: "127.0.0.1", port: 0 };
  const ports = await app.listen({ rest: loopback, grpc: loopback, metrics: undefined });
  rest = `http://127.0.0.1:${ports.rest}`;
  grpcPort = ports.grpc;
  for (let i = 0; i < 50 && !app.readiness().ready; i++) await new Promise((r) => setTimeout(r, 10));
});

afterAll(async () => {
  await app.close(500);
});

beforeEach(() => {
  published.length = 0;
  accepted.length = 0;
  ensured.length = 0;
});

const postJson = (path: string, body: unknown) =>
  fetch(`${rest}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "order-42" },
    body: JSON.stringify(body),
  });

/** The same routes and router options the app serves, on each framing connect speaks. */
function transports(): Record<"connect" | "grpc" | "grpc-web", Transport> {
  const { routes, options } = app.handlers.rpc;
  const router = createConnectRouter(options);
  routes(router);
  const common = {
    httpClient: createUniversalHandlerClient(router.handlers),
    baseUrl: "https://in-memory",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: Number.MAX_SAFE_INTEGER,
    writeMaxBytes: Number.MAX_SAFE_INTEGER,
  };
  return {
    connect: createRouterTransport(routes, { router: options }),
    grpc: createGrpcTransport(common),
    "grpc-web": createGrpcWebTransport(common),
  };
}

describe("the composed producer app, with fake adapters", () => {
  it("takes a REST batch: the topic is ensured, one record per log is published, the topic answered", async () => {
    const res = await postJson("/produce_batch", {
      context: restContext,
      items: [{ content: { message: "paid" } }, { content: { message: "shipped" } }],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ topic: "shop_logs" });
    expect(ensured).toEqual(["shop_logs"]);
    expect(published.map(({ topic, records }) => [topic, records.length])).toEqual([["shop_logs", 2]]);
    expect(published[0]?.records[0]?.headers).toMatchObject({ "idempotency-key": "order-42" });
  });

  it("counts the logs Kafka acknowledged per app_secret for BaritoMarket, not the rate-limited ones", async () => {
    const batch = { context: { ...restContext, app_secret: "s-shop" }, items: [{ content: {} }, { content: {} }] };
    expect((await postJson("/produce_batch", batch)).status).toBe(200);
    const limited = { context: { ...restContext, kafka_topic: "limited", app_secret: "s-limited" }, content: {} };
    expect((await postJson("/produce", limited)).status).toBe(429);
    const client = createClient(Producer, transports().grpc);
    await client.produce({ context: { ...context, appSecret: "s-grpc" }, content: { n: 1 } });
    expect(accepted).toEqual([
      ["s-shop", 2],
      ["s-grpc", 1],
    ]);
  });

  it.each(["connect", "grpc", "grpc-web"] as const)("serves ProduceBatch and Produce over %s framing", async (kind) => {
    const client = createClient(Producer, transports()[kind]);
    await expect(client.produceBatch({ context, items: [{ content: { n: 1 } }] })).resolves.toMatchObject({
      topic: "shop_logs",
    });
    await expect(client.produce({ context, content: { n: 2 } })).resolves.toMatchObject({ topic: "shop_logs" });
    expect(published.map(({ records }) => records.length)).toEqual([1, 1]);
  });

  it("serves gRPC ProduceBatch on the gRPC port (the fast path)", async () => {
    const message = toBinary(
      TimberCollectionSchema,
      create(TimberCollectionSchema, { context, items: [{ content: { n: 3 } }] }),
    );
    const frame = Buffer.alloc(5 + message.byteLength);
    frame.writeUInt32BE(message.byteLength, 1);
    frame.set(message, 5);
    const session = connectHttp2(`http://127.0.0.1:${grpcPort}`);
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/producer.Producer/ProduceBatch",
          "content-type": "application/grpc",
          te: "trailers",
        });
        req.on("trailers", resolve).on("error", reject).resume();
        req.end(frame);
      });
      expect(trailers["grpc-status"]).toBe("0");
    } finally {
      session.close();
    }
    expect(published.map(({ topic }) => topic)).toEqual(["shop_logs"]);
  });

  it("answers an invalid request with INVALID_ARGUMENT naming the field, on REST and connect alike", async () => {
    const res = await postJson("/produce", { context: { ...restContext, kafka_topic: "" }, content: { a: 1 } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: "INVALID_ARGUMENT",
      details: [{ field: "context.kafka_topic" }],
    });

    const client = createClient(Producer, transports().connect);
    const err = await client.produce({ context: { ...context, kafkaTopic: "" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).metadata.get("barito-error-code")).toBe("INVALID_ARGUMENT");
    expect(published).toEqual([]);
  });

  it("answers a full rate-limit window with 429 + Retry-After, and RESOURCE_EXHAUSTED over gRPC", async () => {
    const res = await postJson("/produce", {
      context: { ...restContext, kafka_topic: "limited" },
      content: { a: 1 },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toMatchObject({ code: "RATE_LIMITED" });

    const client = createClient(Producer, transports().grpc);
    const err = await client
      .produce(create(TimberSchema, { context: { ...context, kafkaTopic: "limited" }, content: { a: 1 } }))
      .catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).metadata.get("retry-after")).toBe("3");
    expect(published).toEqual([]);
  });

  it("frees every call's share of the in-flight budget once answered, also for calls connect serves", async () => {
    const connectCall = await fetch(`${rest}/producer.Producer/ProduceBatch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context, items: [{ content: { n: 1 } }, { content: { n: 2 } }] }),
    });
    expect(connectCall.status).toBe(200);
    expect(await postJson("/produce", { context: restContext, content: { n: 3 } }).then((r) => r.status)).toBe(200);
    expect(published.map(({ records }) => records.length)).toEqual([2, 1]);
    const inFlight = async () => {
      const metric = await metrics.registry.getSingleMetric("barito_producer_inflight_records")?.get();
      return metric?.values[0]?.value;
    };
    for (let i = 0; i < 50 && (await inFlight()) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await inFlight()).toBe(0);
  });

  it("answers health on the REST port with the lifecycle body", async () => {
    const res = await fetch(`${rest}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", checks: { kafka: true, accepting: true } });
    expect(await (await fetch(`${rest}/healthz`)).json()).toEqual({ status: "ok" });
  });
});

describe("close()", () => {
  it("serves a request already begun on an open connection, asking the client to reconnect elsewhere", async () => {
    const own = createProducerMetrics("_logs");
    const closing = createProducerApp({
      config: loadProducerConfig({ BARITO_KAFKA_BROKERS: "127.0.0.1:1" }),
      logger: noopLogger,
      publisher: { publish: async () => undefined, isConnected: () => true },
      admin: { ping: async () => true },
      topics: { ensure: async () => undefined, pendingAnnouncements: () => 0, close: async () => undefined },
      rateLimiter: { take: async () => ({ allowed: true, retryAfterMs: 0, limit: 100 }) },
      metrics: own,
    });
    const loopback = { host: "127.0.0.1", port: 0 };
    const ports = await closing.listen({ rest: loopback, grpc: loopback, metrics: undefined });
    for (let i = 0; i < 50 && !closing.readiness().ready; i++) await new Promise((r) => setTimeout(r, 10));
    const body = JSON.stringify({ context: restContext, content: { n: 1 } });
    const { request } = await import("node:http");
    const answer = new Promise<{ status?: number; connection?: string; code?: string }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: ports.rest, path: "/produce", method: "POST", agent: false },
        (res) => {
          let text = "";
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode,
              connection: res.headers.connection,
              code: (JSON.parse(text) as { code?: string }).code,
            }),
          );
        },
      );
      req.on("error", reject);
      req.setHeader("content-type", "application/json");
      req.setHeader("content-length", Buffer.byteLength(body));
      req.flushHeaders();
      // The body follows once the producer has reserved the request's share, i.e. taken it.
      void (async () => {
        const reserved = async () =>
          (await own.registry.getSingleMetric("barito_producer_inflight_bytes")?.get())?.values[0]?.value ?? 0;
        for (let i = 0; i < 200 && (await reserved()) === 0; i++) await new Promise((r) => setTimeout(r, 5));
        stopping = closing.close(2_000);
        await new Promise((r) => setTimeout(r, 20));
        req.end(body);
      })();
    });
    let stopping: Promise<{ drained: boolean }> | undefined;
    expect(await answer).toEqual({ status: 200, connection: "close", code: undefined });
    expect(await stopping).toEqual({ drained: true });
  });
});
