// Thousands of generated malformed and edge-case requests against every protocol of a producer on the real
// Kafka: every answer must be a well-formed 4xx (or a success for valid input), never a 5xx or a crash, and
// valid traffic sent at the same time must be unaffected.
import { request } from "node:http";
import { connect as connectHttp2, constants as h2 } from "node:http2";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import * as hostile from "./testing/hostile-cases.js";
import type { InProcessProducer } from "./testing/in-process.js";

const run = randomUUID().slice(0, 8);
const context = hostile.validContext(`hostile${run}`);
let producer: InProcessProducer;
let target: hostile.HostileTarget;

beforeAll(async () => {
  ({ producer, target } = await hostile.startHostileProducer(run, `hostile-${run}`));
});

afterAll(() => producer.close());

/** The grpc-status alone of a raw gRPC call. */
const rawGrpc = (payload: Uint8Array, encoding?: string) =>
  hostile.rawGrpcAnswer(target, payload, { encoding }).then((answer) => answer.status);

describe("producer under hostile input (real Kafka)", () => {
  it("answers broken and mistyped JSON bodies on every REST route with a well-formed 4xx, never a 5xx", async () => {
    await fc.assert(hostile.wellFormedRestAnswers(target), { numRuns: 600 });
  });

  it("refuses oversized bodies, deep nesting, invalid UTF-8 and huge batches with 4xx", async () => {
    const big = JSON.stringify({ context, content: { blob: "x".repeat(300_000) } });
    expect((await hostile.postRaw(target, "/produce", big)).status).toBe(413);
    const record = JSON.stringify({ context, content: { blob: "x".repeat(60_000) } });
    expect((await hostile.postRaw(target, "/produce", record)).status).toBe(413);
    const deep = `{"context":${JSON.stringify(context)},"content":{"a":${"[".repeat(50_000)}${"]".repeat(50_000)}}}`;
    hostile.expectWellFormedRestAnswer(await hostile.postRaw(target, "/produce", deep));
    const deepObjects = `{"context":${JSON.stringify(context)},"content":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    hostile.expectWellFormedRestAnswer(await hostile.postRaw(target, "/produce", deepObjects));
    const invalidUtf8 = Buffer.concat([
      Buffer.from(`{"context":${JSON.stringify(context)},"content":{"m":"`),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}}'),
    ]);
    hostile.expectWellFormedRestAnswer(await hostile.postRaw(target, "/produce", invalidUtf8));
    const many = JSON.stringify({ context, items: Array.from({ length: 51 }, () => ({ content: {} })) });
    expect((await hostile.postRaw(target, "/produce_batch", many)).status).toBe(400);
  });

  it("answers garbage protobuf and compression bombs on gRPC and Connect with client errors, never INTERNAL", async () => {
    const internal = 13;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const status = await rawGrpc(Buffer.from(bytes));
        expect(status).toBeGreaterThan(0);
        expect(status).not.toBe(internal);
        const connect = await hostile.postRaw(target, "/producer.Producer/ProduceBatch", bytes, "application/proto");
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
      await hostile.rawGrpcAnswer(target, zstdCompressSync(bomb), { encoding: "zstd" }),
      await hostile.rawGrpcAnswer(target, gzipSync(bomb), { encoding: "gzip" }),
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

    const grpc = await hostile.rawGrpcAnswer(target, oversize);
    expect(grpc).toMatchObject({ status: 3, errorCode: "PAYLOAD_TOO_LARGE" });
    expect(JSON.parse(grpc.details ?? "[]")).toEqual(expectedDetails);

    const connect = await hostile.postRaw(target, "/producer.Producer/ProduceBatch", oversize, "application/proto");
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
    const grpcWeb = await hostile.postRaw(
      target,
      "/producer.Producer/ProduceBatch",
      frame,
      "application/grpc-web+proto",
    );
    // An error answer is the trailer frame alone (flag 0x80).
    expect(grpcWeb.raw[0]).toBe(0x80);
    const trailer = grpcWeb.raw.subarray(5).toString("utf8");
    expect(trailer).toMatch(/grpc-status: 3\r\n/);
    expect(trailer).toMatch(/barito-error-code: PAYLOAD_TOO_LARGE\r\n/);

    // REST answers 413 with the same code (and, like the answers above, closes the connection: the keep-alive
    // client's next request must not wait behind the unread body).
    const rest = await hostile.postRaw(
      target,
      "/produce_batch",
      JSON.stringify({ context, items: [{ content: { blob: "x".repeat(300_000) } }] }),
    );
    expect(rest.status).toBe(413);
    expect(JSON.parse(rest.text)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("takes a slowly sent body, and survives bodies cut short on REST and gRPC", async () => {
    const valid = JSON.stringify({ context, items: [{ content: { slow: true } }] });
    // Dribbled in 10-byte pieces every 50 ms: slow clients (mobile, congested links) are served, not cut off.
    const slow = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${target.rest}/produce_batch`,
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
    const url = new URL(target.rest);
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
    const session = connectHttp2(target.grpc);
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
    expect((await hostile.postRaw(target, "/produce_batch", valid)).status).toBe(200);
    expect(producer.app.readiness().ready).toBe(true);
  });

  it("refuses an over-long Idempotency-Key instead of cutting it (cut keys could collide)", async () => {
    const body = JSON.stringify({ context, items: [{ content: { keyed: true } }] });
    for (const path of ["/produce_batch", "/producer.Producer/ProduceBatch"]) {
      const res = await fetch(`${target.rest}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "k".repeat(257) },
        body:
          path === "/produce_batch"
            ? body
            : JSON.stringify({
                context: { kafkaTopic: context.kafka_topic, esIndexPrefix: "hostile", appMaxTps: 1_000_000 },
                items: [{ content: { keyed: true } }],
              }),
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("Idempotency-Key");
    }
    const ok = await fetch(`${target.rest}/produce_batch`, {
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
      (await hostile.postRaw(target, "/produce", JSON.stringify({ context, content: { after: "bombs" } }))).status,
    ).toBe(200);
  });

  it("keeps serving valid traffic while hostile requests flow", async () => {
    const { hostileAnswers, validAnswers } = await hostile.sendHostileAmongValid(target, context, {
      hostile: 200,
      valid: 100,
    });
    for (const answer of hostileAnswers) expect(answer.status).toBe(400);
    for (const answer of validAnswers) expect(answer.status).toBe(200);
    expect(producer.app.readiness().ready).toBe(true);
  });
});
