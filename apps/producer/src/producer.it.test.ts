// The producer against the real local Kafka and Redis: every protocol, records read back with kcat
// (an independent client) and decoded field by field.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { Producer, TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { createRedisRateLimiter } from "@barito-flow/rate-limit";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "@jest/globals";
import { kafkaBrokers as brokers, startInProcessProducer } from "./testing/in-process.js";
import { rpcContext } from "./testing/requests.js";
import { compressionZstd } from "./transport/compression.js";

const run = randomUUID().slice(0, 8);
const cleanups: Array<() => Promise<unknown>> = [];

async function start(
  env: Record<string, string> = {},
  options: { redis?: boolean; brokers?: string; prefix?: string } = {},
) {
  const prefix = options.prefix ?? `it${run}${cleanups.length}_`;
  const producer = await startInProcessProducer({
    env: {
      ...(options.brokers ? { BARITO_KAFKA_BROKERS: options.brokers } : {}),
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
      BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: "10",
      BARITO_PRODUCER_REQUEST_TIMEOUT: "5s",
      ...env,
    },
    clientId: `producer-it-${run}`,
    deliveryTimeoutMs: 5_000,
    adminTimeouts: { requestTimeoutMs: 3_000, pingTimeoutMs: 1_000 },
    ...(options.redis
      ? {
          rateLimiter: createRedisRateLimiter({
            redis: "redis://127.0.0.1:6379",
            intervalMs: 10_000,
            keyPrefix: `barito-it:${run}:`,
          }),
        }
      : {}),
    // An unreachable cluster is the point of some tests: do not wait for it.
    awaitKafka: !options.brokers,
  });
  cleanups.push(() => producer.close());
  return { app: producer.app, ...producer.urls, prefix };
}

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** Every record of a topic as [value, headers], read by kcat (length-prefixed values, then headers). */
function readTopic(topic: string): Array<{ value: Buffer; headers: string }> {
  const kcat = (format: string) =>
    execFileSync("kcat", ["-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format], {
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  const raw = kcat("%R%s");
  const headers = kcat("%h\n").toString().split("\n");
  const records: Array<{ value: Buffer; headers: string }> = [];
  for (let offset = 0, i = 0; offset < raw.length; i++) {
    const length = raw.readUInt32BE(offset);
    records.push({ value: raw.subarray(offset + 4, offset + 4 + length), headers: headers[i] ?? "" });
    offset += 4 + length;
  }
  return records;
}

/** Whether the broker knows the topic: kcat's metadata names it, with "Unknown topic" as its error when it does not. */
function topicExists(topic: string): boolean {
  const metadata = JSON.parse(
    execFileSync("kcat", ["-b", brokers, "-L", "-t", topic, "-J"], {
      timeout: 10_000,
      stdio: ["ignore", "pipe", "pipe"],
    }).toString(),
  ) as { topics: Array<{ topic: string; error?: string; partitions: unknown[] }> };
  const [entry] = metadata.topics;
  if (entry?.topic !== topic) throw new Error(`kcat's metadata does not name ${topic}: ${JSON.stringify(metadata)}`);
  if (entry.error && !/Unknown topic/.test(entry.error)) throw new Error(`kcat: ${entry.error}`);
  return !entry.error && entry.partitions.length > 0;
}

function partitionsOf(topic: string): number {
  const metadata = JSON.parse(
    execFileSync("kcat", ["-b", brokers, "-L", "-t", topic, "-J"], { timeout: 10_000 }).toString(),
  );
  return metadata.topics[0].partitions.length;
}

const context = (app: string, extra: Record<string, unknown> = {}) => ({
  kafka_topic: app,
  kafka_partition: 3,
  kafka_replication_factor: 1,
  es_index_prefix: app,
  es_document_type: "ignored",
  app_max_tps: 100,
  app_secret: "s3cret",
  ...extra,
});

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("producer (real Kafka)", () => {
  it("stores a REST /produce log as a barito Timber record, creates the topic with the context's partitions and announces it", async () => {
    const p = await start();
    const res = await post(
      `${p.rest}/produce`,
      { context: context("billing"), content: { message: "paid", amount: 12.5, nested: { ok: true } } },
      {
        "Idempotency-Key": "req-1",
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ topic: `${p.prefix}billing_logs` });

    const [record, ...rest] = readTopic(`${p.prefix}billing_logs`);
    expect(rest).toHaveLength(0);
    const timber = fromBinary(TimberSchema, record?.value as Buffer);
    expect(
      toJson(TimberSchema, timber.context ? { ...timber, content: timber.content } : timber, {
        useProtoFieldName: true,
      }),
    ).toMatchObject({
      context: {
        kafka_topic: "billing",
        kafka_partition: 3,
        es_index_prefix: "billing",
        app_max_tps: 100,
        app_secret: "s3cret",
      },
      content: { message: "paid", amount: 12.5, nested: { ok: true } },
    });
    expect(timber.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(record?.headers).toBe("idempotency-key=req-1,idempotency-item=0");
    expect(partitionsOf(`${p.prefix}billing_logs`)).toBe(3);

    // The announcement is asynchronous but must arrive.
    let events: string[] = [];
    for (let i = 0; i < 50 && events.length === 0; i++) {
      try {
        events = readTopic(`${p.prefix}new_topic_events`).map((r) => r.value.toString());
      } catch {
        /* topic not created yet */
      }
      if (events.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(events).toEqual([`${p.prefix}billing_logs`]);
  });

  it("writes one record per item for /produce_batch, and one TimberCollection record in collection mode", async () => {
    const timberMode = await start();
    const items = [{ content: { n: 1 } }, { content: { n: 2 } }, { content: { n: 3 } }];
    expect((await post(`${timberMode.rest}/produce_batch`, { context: context("orders"), items })).status).toBe(200);
    const records = readTopic(`${timberMode.prefix}orders_logs`).map((r) => fromBinary(TimberSchema, r.value));
    expect(
      records
        .map((t) => toJson(TimberSchema, t).content)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(records.every((t) => t.context?.kafkaTopic === "orders")).toBe(true);

    const collectionMode = await start({ BARITO_KAFKA_MESSAGE_FORMAT: "TimberCollection" });
    // camelCase keys are accepted as well as snake_case.
    const camel = {
      context: { kafkaTopic: "orders", kafkaPartition: 1, esIndexPrefix: "orders", appMaxTps: 100 },
      items,
    };
    expect((await post(`${collectionMode.rest}/produce_batch`, camel)).status).toBe(200);
    const [record, ...more] = readTopic(`${collectionMode.prefix}orders_logs`);
    expect(more).toHaveLength(0);
    expect(record?.headers).toBe("message_format=TimberCollection");
    const collection = fromBinary(TimberCollectionSchema, record?.value as Buffer);
    expect(collection.context?.kafkaTopic).toBe("orders");
    expect(collection.items.map((t) => toJson(TimberSchema, t).content)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("serves the same service over gRPC with zstd, Connect and gRPC-Web", async () => {
    const p = await start();
    const timber = { context: rpcContext("rpc", 100), content: {} };
    const grpc = createClient(
      Producer,
      createGrpcTransport({ baseUrl: p.grpc, sendCompression: compressionZstd, acceptCompression: [compressionZstd] }),
    );
    const connect = createClient(Producer, createConnectTransport({ baseUrl: p.rest, httpVersion: "1.1" }));
    const grpcWeb = createClient(Producer, createGrpcWebTransport({ baseUrl: p.rest, httpVersion: "1.1" }));
    expect((await grpc.produce(timber, { headers: { "idempotency-key": "g1" } })).topic).toBe(`${p.prefix}rpc_logs`);
    expect(
      (
        await grpc.produceBatch({
          context: timber.context,
          items: [{ content: {} }, { content: {} }],
        })
      ).topic,
    ).toBe(`${p.prefix}rpc_logs`);
    expect((await connect.produce(timber)).topic).toBe(`${p.prefix}rpc_logs`);
    expect((await grpcWeb.produce(timber)).topic).toBe(`${p.prefix}rpc_logs`);
    expect(readTopic(`${p.prefix}rpc_logs`)).toHaveLength(5);

    const invalid = await grpc
      .produce({ ...timber, context: { ...timber.context, esIndexPrefix: "UPPER" } })
      .catch((e: unknown) => e);
    expect(ConnectError.from(invalid).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(invalid).metadata.get("barito-error-code")).toBe("INVALID_ARGUMENT");
  });

  it("limits per app with the local limiter: 429 + Retry-After over REST, RESOURCE_EXHAUSTED over gRPC, nothing charged on rejection", async () => {
    const p = await start();
    const ctx = context("limited", { app_max_tps: 1 }); // capacity 1 x 10 s = 10 logs per window
    const batch = (n: number) => ({ context: ctx, items: Array.from({ length: n }, (_, i) => ({ content: { i } })) });
    expect((await post(`${p.rest}/produce_batch`, batch(8))).status).toBe(200);
    const limited = await post(`${p.rest}/produce_batch`, batch(3));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED" });
    // The rejected batch was not charged: two more still fit.
    expect((await post(`${p.rest}/produce_batch`, batch(2))).status).toBe(200);
    const grpc = createClient(Producer, createGrpcTransport({ baseUrl: p.grpc, sendCompression: compressionZstd }));
    const err = ConnectError.from(
      await grpc
        .produce({
          context: { kafkaTopic: "limited", esIndexPrefix: "limited", appMaxTps: 1 },
          content: {},
        })
        .catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${p.metrics}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`barito_producer_tps_exceeded_total\\{topic="${p.prefix}limited_logs"\\} 4`));
  });

  it("shares one limit between two producer processes through Redis", async () => {
    const prefix = `it${run}shared_`;
    const a = await start({}, { redis: true, prefix });
    const b = await start({}, { redis: true, prefix });
    const ctx = context("shared", { app_max_tps: 1 }); // 10 logs per 10 s window, across both producers
    const body = (n: number) => ({ context: ctx, items: Array.from({ length: n }, (_, i) => ({ content: { i } })) });
    expect((await post(`${a.rest}/produce_batch`, body(6))).status).toBe(200);
    const refused = await post(`${b.rest}/produce_batch`, body(5));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await post(`${b.rest}/produce_batch`, body(4))).status).toBe(200);
    expect((await post(`${a.rest}/produce_batch`, body(1))).status).toBe(429);
  });

  it("rejects invalid requests naming the field and the rule, and writes nothing", async () => {
    const p = await start();
    const cases: Array<[unknown, number, string]> = [
      [{ content: { a: 1 } }, 400, "context"],
      [{ context: context("bad topic"), content: {} }, 400, "context.kafka_topic"],
      [{ context: context("ok", { es_index_prefix: "Bad*" }), content: {} }, 400, "context.es_index_prefix"],
      [{ context: context("ok", { app_max_tps: 0 }), content: {} }, 400, "context.app_max_tps"],
      [{ context: context("ok"), content: "text" }, 400, "content"],
      [{ context: context("ok"), content: {}, unknown_field: 1 }, 400, "unknown_field"],
      [{ context: context("ok", { kafka_partition: "three" }), content: {} }, 400, "context.kafka_partition"],
    ];
    for (const [body, status, field] of cases) {
      const res = await post(`${p.rest}/produce`, body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { code: string; details: Array<{ field: string }> };
      expect(json.details.map((d) => d.field)).toContain(field);
    }
    const empty = await post(`${p.rest}/produce_batch`, { context: context("ok"), items: [] });
    expect(empty.status).toBe(400);
    const tooBig = await post(`${p.rest}/produce`, {
      context: context("ok"),
      content: { blob: "x".repeat(1_100_000) },
    });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: [{ field: "content" }] });
    expect(topicExists(`${p.prefix}ok_logs`)).toBe(false);
  });

  it("answers 503 with Retry-After and readyz false when Kafka is unreachable", async () => {
    const p = await start({}, { brokers: "127.0.0.1:1" });
    const res = await post(`${p.rest}/produce`, { context: context("down"), content: {} });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toMatchObject({ code: "KAFKA_UNAVAILABLE" });
    expect((await fetch(`${p.rest}/readyz`)).status).toBe(503);
    expect((await fetch(`${p.rest}/healthz`)).status).toBe(200);
  });

  it("shuts down without losing an acknowledged request: every 200 is in Kafka, the rest got a retryable 503", async () => {
    const p = await start();
    const send = (i: number) =>
      post(`${p.rest}/produce`, { context: context("drain"), content: { i } }).then(
        async (res) => ({
          i,
          status: res.status,
          code: res.status === 200 ? "" : ((await res.json()) as { code: string }).code,
        }),
        () => ({ i, status: 0, code: "CONNECTION" }),
      );
    await send(-1); // creates the topic
    // Ten lanes, each sending its next request once the last is answered, until the close begins: requests are in
    // flight at every moment, so the close meets some that Kafka has not acknowledged yet.
    let closing = false;
    let next = 0;
    const results: Array<Awaited<ReturnType<typeof send>> & { answeredAfterClose: boolean }> = [];
    let firstAnswered!: () => void;
    const answered = new Promise<void>((resolve) => {
      firstAnswered = resolve;
    });
    const lane = async () => {
      while (!closing && next < 2_000) {
        const sentBeforeClose = !closing;
        const result = await send(next++);
        results.push({ ...result, answeredAfterClose: sentBeforeClose && closing });
        if (result.status === 200) firstAnswered();
      }
    };
    const lanes = Array.from({ length: 10 }, lane);
    await answered;
    closing = true;
    await p.app.close(5_000);
    await Promise.all(lanes);
    const acknowledged = results.filter((r) => r.status === 200).map((r) => r.i);
    expect(acknowledged.length).toBeGreaterThan(0);
    // The drain itself: requests that were in flight when the close began and were still answered 200.
    expect(results.filter((r) => r.answeredAfterClose && r.status === 200).length).toBeGreaterThan(0);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect([0, 503]).toContain(r.status);
      if (r.status === 503) expect(r.code).toBe("SHUTTING_DOWN");
    }
    const stored = readTopic(`${p.prefix}drain_logs`).map(
      (r) => (toJson(TimberSchema, fromBinary(TimberSchema, r.value)).content as { i: number }).i,
    );
    expect(stored).toContain(-1);
    for (const i of acknowledged) expect(stored).toContain(i);
  });
});
