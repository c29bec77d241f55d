// Thousands of generated malformed and edge-case requests against every protocol of a producer on the real
// Kafka: every answer must be a well-formed 4xx (or a success for valid input), never a 5xx or a crash, and
// valid traffic sent at the same time must be unaffected.
import { request } from "node:http";
import { connect as connectHttp2, constants as h2 } from "node:http2";
import { randomUUID } from "node:crypto";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { loadProducerConfig } from "./config.js";
import { createProducerApp, type ProducerApp, withTopicProvisioner } from "./app.js";
import { createProducerMetrics } from "./metrics.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 8);
let app: ProducerApp;
let rest = "";
let grpcPort = 0;
let close: () => Promise<void>;

const validContext = {
  kafka_topic: `hostile${run}`,
  kafka_partition: 1,
  kafka_replication_factor: 1,
  es_index_prefix: "hostile",
  app_max_tps: 1_000_000,
};

beforeAll(async () => {
  const config = loadProducerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_NEW_TOPIC_EVENT: `it${run}_new_topic_events`,
    BARITO_GRPC_MAX_RECV_MSG_SIZE: "200000",
    BARITO_PRODUCER_MAX_MESSAGE_BYTES: "50000",
    BARITO_PRODUCER_MAX_BATCH_ITEMS: "50",
  });
  const kafka = { brokers: [brokers], clientId: `hostile-${run}` };
  const publisher = createKafkaPublisher({ ...kafka, deliveryTimeoutMs: 10_000 });
  const admin = createKafkaAdmin(kafka);
  await Promise.all([publisher.connect(), admin.connect()]);
  const rateLimiter = createLocalRateLimiter({ intervalMs: 10_000 });
  const metrics = createProducerMetrics("_logs");
  app = createProducerApp(withTopicProvisioner({ config, logger: noopLogger, publisher, admin, rateLimiter, metrics }));
  const loopback = { host: "127.0.0.1", port: 0 };
  const ports = await app.listen({ rest: loopback, grpc: loopback, metrics: loopback });
  rest = `http://127.0.0.1:${ports.rest}`;
  grpcPort = ports.grpc;
  close = async () => {
    await app.close(2_000);
    await Promise.allSettled([publisher.close(), admin.close(), rateLimiter.close()]);
  };
  for (let i = 0; i < 50 && !app.readiness().ready; i++) await new Promise((r) => setTimeout(r, 100));
});

afterAll(() => close());

/**
 * POST with node:http rather than fetch: a server may answer 413 before reading a huge body and close the
 * connection, which fetch reports as a network error even though the answer arrived.
 */
function postRaw(
  path: string,
  body: string | Uint8Array,
  contentType = "application/json",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${rest}${path}`, { method: "POST", headers: { "content-type": contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    req.end(body);
  });
}

/** Like postRaw, with the response headers and raw bytes. */
function postHeaders(
  path: string,
  body: Uint8Array,
  contentType: string,
): Promise<{ status: number; text: string; raw: Buffer; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${rest}${path}`, { method: "POST", headers: { "content-type": contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, text: raw.toString("utf8"), raw, headers: res.headers });
      });
      res.on("error", reject);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    req.end(body);
  });
}

function expectWellFormedRestAnswer(answer: { status: number; text: string }) {
  expect([200, 400, 413, 429]).toContain(answer.status);
  const json = JSON.parse(answer.text) as Record<string, unknown>;
  if (answer.status === 200) expect(typeof json.topic).toBe("string");
  else {
    expect(typeof json.code).toBe("string");
    expect(typeof json.message).toBe("string");
    expect(Array.isArray(json.details)).toBe(true);
  }
}

/** Sends one gRPC unary call over a raw HTTP/2 stream (so the payload can be anything), returns grpc-status. */
function rawGrpc(payload: Buffer, encoding?: string): Promise<number> {
  return rawGrpcAnswer(payload, encoding).then((answer) => answer.status);
}

/** grpc-status plus the barito error metadata of the answer (from the trailers, or the headers if trailers-only). */
function rawGrpcAnswer(
  payload: Buffer,
  encoding?: string,
): Promise<{ status: number; errorCode?: string; details?: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${grpcPort}`);
    session.on("error", reject);
    const frame = Buffer.alloc(5 + payload.length);
    frame[0] = encoding ? 1 : 0;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: "POST",
      [h2.HTTP2_HEADER_PATH]: "/producer.Producer/ProduceBatch",
      "content-type": "application/grpc",
      te: "trailers",
      ...(encoding ? { "grpc-encoding": encoding } : {}),
    });
    let status = -1;
    let meta: Record<string, string | string[] | undefined> = {};
    stream.on("response", (headers) => {
      if (headers["grpc-status"] !== undefined) {
        status = Number(headers["grpc-status"]);
        meta = headers;
      }
    });
    stream.on("trailers", (trailers) => {
      status = Number(trailers["grpc-status"]);
      meta = trailers;
    });
    stream.on("data", () => undefined);
    const done = () => {
      // Like a real gRPC client, the call ends with its status even when the server refused it before reading the
      // whole request (an oversize message): the rest of the request is abandoned.
      session.destroy();
      resolve({
        status,
        errorCode: meta["barito-error-code"] as string | undefined,
        details: meta["barito-error-details"] as string | undefined,
      });
    };
    stream.on("response", (headers) => {
      if (headers["grpc-status"] !== undefined) done();
    });
    stream.on("trailers", () => done());
    stream.on("close", done);
    stream.on("error", reject);
    stream.end(frame);
  });
}

const jsonValue = fc.jsonValue({ maxDepth: 4 });
const hostileContext = fc.oneof(
  fc.constant(undefined),
  jsonValue,
  fc.record(
    {
      kafka_topic: fc.oneof(fc.string(), jsonValue),
      es_index_prefix: fc.oneof(fc.string(), jsonValue),
      app_max_tps: fc.oneof(fc.integer(), fc.double(), fc.string(), jsonValue),
      kafka_partition: fc.oneof(fc.integer(), fc.string()),
      disable_app_tps: fc.oneof(fc.boolean(), fc.string()),
      app_group_max_tps: fc.integer(),
    },
    { requiredKeys: [] },
  ),
);

describe("producer under hostile input (real Kafka)", () => {
  it("answers broken and mistyped JSON bodies on every REST route with a well-formed 4xx, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/produce", "/produce_batch"),
        fc.oneof(
          fc.string(),
          jsonValue.map((v) => JSON.stringify(v)),
          fc
            .record(
              {
                context: hostileContext,
                content: jsonValue,
                items: fc.array(fc.record({ content: jsonValue }), { maxLength: 5 }),
              },
              { requiredKeys: [] },
            )
            .map((v) => JSON.stringify(v)),
          fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
        ),
        async (path, body) => expectWellFormedRestAnswer(await postRaw(path, body)),
      ),
      { numRuns: 600 },
    );
  });

  it("refuses oversized bodies, deep nesting, invalid UTF-8 and huge batches with 4xx", async () => {
    const big = JSON.stringify({ context: validContext, content: { blob: "x".repeat(300_000) } });
    expect((await postRaw("/produce", big)).status).toBe(413);
    const record = JSON.stringify({ context: validContext, content: { blob: "x".repeat(60_000) } });
    expect((await postRaw("/produce", record)).status).toBe(413);
    const deep = `{"context":${JSON.stringify(validContext)},"content":{"a":${"[".repeat(50_000)}${"]".repeat(50_000)}}}`;
    expectWellFormedRestAnswer(await postRaw("/produce", deep));
    const deepObjects = `{"context":${JSON.stringify(validContext)},"content":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    expectWellFormedRestAnswer(await postRaw("/produce", deepObjects));
    const invalidUtf8 = Buffer.concat([
      Buffer.from(`{"context":${JSON.stringify(validContext)},"content":{"m":"`),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}}'),
    ]);
    expectWellFormedRestAnswer(await postRaw("/produce", invalidUtf8));
    const many = JSON.stringify({ context: validContext, items: Array.from({ length: 51 }, () => ({ content: {} })) });
    expect((await postRaw("/produce_batch", many)).status).toBe(400);
  });

  it("answers garbage protobuf and compression bombs on gRPC and Connect with client errors, never INTERNAL", async () => {
    const internal = 13;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const status = await rawGrpc(Buffer.from(bytes));
        expect(status).toBeGreaterThan(0);
        expect(status).not.toBe(internal);
        const connect = await postRaw("/producer.Producer/ProduceBatch", bytes, "application/proto");
        expect(connect.status).toBeGreaterThanOrEqual(400);
        expect(connect.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    const { zstdCompressSync, gzipSync } = await import("node:zlib");
    const bomb = Buffer.alloc(5_000_000);
    expect(await rawGrpc(Buffer.from("not zstd"), "zstd")).not.toBe(internal);
    // Compression bombs are oversize requests: INVALID_ARGUMENT + PAYLOAD_TOO_LARGE, not RESOURCE_EXHAUSTED.
    for (const answer of [
      await rawGrpcAnswer(zstdCompressSync(bomb), "zstd"),
      await rawGrpcAnswer(gzipSync(bomb), "gzip"),
    ]) {
      expect(answer).toMatchObject({ status: 3, errorCode: "PAYLOAD_TOO_LARGE" });
      expect(JSON.parse(answer.details ?? "[]")).toEqual([
        { field: "body", reason: "at most 200000 bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)" },
      ]);
    }
  });

  it("tells oversize requests from rate limiting on every protocol: INVALID_ARGUMENT + PAYLOAD_TOO_LARGE naming the limit", async () => {
    const { create, toBinary } = await import("@bufbuild/protobuf");
    const { TimberCollectionSchema } = await import("@barito-flow/proto");
    // Valid protobuf, 300 kB > the 200 kB limit of this producer.
    const oversize = Buffer.from(
      toBinary(
        TimberCollectionSchema,
        create(TimberCollectionSchema, { items: [{ content: { blob: "x".repeat(300_000) } }] }),
      ),
    );
    const expectedDetails = [{ field: "body", reason: "at most 200000 bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)" }];

    const grpc = await rawGrpcAnswer(oversize);
    expect(grpc).toMatchObject({ status: 3, errorCode: "PAYLOAD_TOO_LARGE" });
    expect(JSON.parse(grpc.details ?? "[]")).toEqual(expectedDetails);

    const connect = await postHeaders("/producer.Producer/ProduceBatch", oversize, "application/proto");
    expect(connect.status).toBe(400);
    expect(JSON.parse(connect.text)).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("200000 bytes"),
    });
    expect(connect.headers["barito-error-code"]).toBe("PAYLOAD_TOO_LARGE");
    expect(JSON.parse(String(connect.headers["barito-error-details"]))).toEqual(expectedDetails);

    const frame = Buffer.alloc(5 + oversize.length);
    frame.writeUInt32BE(oversize.length, 1);
    oversize.copy(frame, 5);
    const grpcWeb = await postHeaders("/producer.Producer/ProduceBatch", frame, "application/grpc-web+proto");
    // An error answer is the trailer frame alone (flag 0x80).
    expect(grpcWeb.raw[0]).toBe(0x80);
    const trailer = grpcWeb.raw.subarray(5).toString("utf8");
    expect(trailer).toMatch(/grpc-status: 3\r\n/);
    expect(trailer).toMatch(/barito-error-code: PAYLOAD_TOO_LARGE\r\n/);

    // REST answers 413 with the same code (and, like the answers above, closes the connection: the keep-alive
    // client's next request must not wait behind the unread body).
    const rest = await postRaw(
      "/produce_batch",
      JSON.stringify({ context: validContext, items: [{ content: { blob: "x".repeat(300_000) } }] }),
    );
    expect(rest.status).toBe(413);
    expect(JSON.parse(rest.text)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("takes a slowly sent body, and survives bodies cut short on REST and gRPC", async () => {
    const valid = JSON.stringify({ context: validContext, items: [{ content: { slow: true } }] });
    // Dribbled in 10-byte pieces every 50 ms: slow clients (mobile, congested links) are served, not cut off.
    const slow = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${rest}/produce_batch`,
        { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(valid) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      let offset = 0;
      const timer = setInterval(() => {
        req.write(valid.slice(offset, offset + 10));
        offset += 10;
        if (offset >= valid.length) {
          clearInterval(timer);
          req.end();
        }
      }, 50);
    });
    expect(slow).toBe(200);

    // Content-Length promises 500 bytes, 40 arrive, the client goes away.
    const { connect: tcpConnect } = await import("node:net");
    const url = new URL(rest);
    const truncatedAnswers: string[] = [];
    for (let i = 0; i < 20; i++) {
      truncatedAnswers.push(
        await new Promise<string>((resolve) => {
          let answer = "";
          const socket = tcpConnect(Number(url.port), url.hostname, () => {
            socket.write(
              "POST /produce_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n",
            );
            socket.end(valid.slice(0, 40));
          });
          socket.on("data", (chunk: Buffer) => {
            answer += chunk.toString("latin1");
          });
          socket.on("error", () => resolve(answer));
          socket.on("close", () => resolve(answer));
        }),
      );
    }
    // Each one is answered as the client's fault (a 400), never with a server error; checked here, once every answer
    // is in, so an answer that never comes fails the test instead of asserting nothing.
    expect(truncatedAnswers.map((answer) => answer.split("\r\n")[0])).toEqual(
      Array(20).fill("HTTP/1.1 400 Bad Request"),
    );
    // A gRPC message whose length prefix promises more than the stream carries.
    const frame = Buffer.alloc(5 + 10);
    frame.writeUInt32BE(1_000, 1);
    const session = connectHttp2(`http://127.0.0.1:${grpcPort}`);
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({
        [h2.HTTP2_HEADER_METHOD]: "POST",
        [h2.HTTP2_HEADER_PATH]: "/producer.Producer/ProduceBatch",
        "content-type": "application/grpc",
        te: "trailers",
      });
      let grpcStatus = -1;
      stream.on("response", (headers) => {
        if (headers["grpc-status"] !== undefined) grpcStatus = Number(headers["grpc-status"]);
      });
      stream.on("trailers", (trailers) => {
        grpcStatus = Number(trailers["grpc-status"]);
      });
      stream.on("data", () => undefined);
      stream.on("close", () => resolve(grpcStatus));
      stream.on("error", reject);
      stream.end(frame);
    });
    session.destroy();
    expect(status).toBeGreaterThan(0);
    expect(status).not.toBe(13);
    // Still healthy: the next valid request is stored.
    expect((await postRaw("/produce_batch", valid)).status).toBe(200);
    expect(app.readiness().ready).toBe(true);
  });

  it("refuses an over-long Idempotency-Key instead of cutting it (cut keys could collide)", async () => {
    const body = JSON.stringify({ context: validContext, items: [{ content: { keyed: true } }] });
    for (const path of ["/produce_batch", "/producer.Producer/ProduceBatch"]) {
      const res = await fetch(`${rest}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "k".repeat(257) },
        body:
          path === "/produce_batch"
            ? body
            : JSON.stringify({
                context: { kafkaTopic: validContext.kafka_topic, esIndexPrefix: "hostile", appMaxTps: 1_000_000 },
                items: [{ content: { keyed: true } }],
              }),
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("Idempotency-Key");
    }
    const ok = await fetch(`${rest}/produce_batch`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "k".repeat(256) },
      body,
    });
    expect(ok.status).toBe(200);
  });

  it("keeps memory bounded under many concurrent compression bombs", async () => {
    const { zstdCompressSync, gzipSync } = await import("node:zlib");
    // Each inflates to 64 MB: 40 at once would need 2.5 GB if bodies were inflated before the size check.
    const inflated = Buffer.alloc(64 * 1024 * 1024);
    const zstdBomb = zstdCompressSync(inflated);
    const gzipBomb = gzipSync(inflated);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => rawGrpc(i % 2 ? zstdBomb : gzipBomb, i % 2 ? "zstd" : "gzip")),
    );
    clearInterval(sampler);
    for (const status of answers) expect(status).toBe(3);
    // The cap (200 kB per request here) bounds the work; allow generous room for buffers and GC timing.
    expect(peak - before).toBeLessThan(400 * 1024 * 1024);
    expect(
      (await postRaw("/produce", JSON.stringify({ context: validContext, content: { after: "bombs" } }))).status,
    ).toBe(200);
  });

  it("keeps serving valid traffic while hostile requests flow", async () => {
    const hostile = Array.from({ length: 200 }, (_, i) =>
      postRaw(i % 2 ? "/produce" : "/produce_batch", i % 3 ? "{" : '{"context":7}'),
    );
    const valid = Array.from({ length: 100 }, (_, i) =>
      postRaw(
        "/produce_batch",
        JSON.stringify({ context: validContext, items: [{ content: { i } }, { content: { i, second: true } }] }),
      ),
    );
    const [hostileAnswers, validAnswers] = await Promise.all([Promise.all(hostile), Promise.all(valid)]);
    for (const answer of hostileAnswers) expect(answer.status).toBe(400);
    for (const answer of validAnswers) expect(answer.status).toBe(200);
    expect(app.readiness().ready).toBe(true);
  });
});
