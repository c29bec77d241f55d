// The in-flight cap against the real Kafka: a request whose body is still arriving holds its declared length, so
// while it does, requests that would not fit are refused at once (before their bodies are read) with 503 +
// Retry-After and OVERLOADED on REST, UNAVAILABLE + barito-error-code OVERLOADED on gRPC and Connect; a zstd message
// whose decompressed size does not fit is refused the same way. Once the slow request ends, everything is taken again.
import { randomUUID } from "node:crypto";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { connect as connectHttp2 } from "node:http2";
import { zstdCompressSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startInProcessProducer } from "./testing/in-process.js";
import { restContext } from "./testing/requests.js";

const run = randomUUID().slice(0, 8);
const prefix = `itcap${run}_`;
const cap = 1_000_000;
const ports = { rest: 0, grpc: 0, metrics: 0 };
let stop: () => Promise<void>;

beforeAll(async () => {
  const producer = await startInProcessProducer({
    env: {
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
      BARITO_GRPC_MAX_RECV_MSG_SIZE: String(cap),
      BARITO_PRODUCER_MAX_INFLIGHT_BYTES: String(cap),
    },
    clientId: `producer-cap-it-${run}`,
    deliveryTimeoutMs: 5_000,
    adminTimeouts: { requestTimeoutMs: 3_000, pingTimeoutMs: 1_000 },
  });
  Object.assign(ports, producer.ports);
  stop = producer.close;
});
afterAll(() => stop?.());

const context = restContext("cap", 1_000_000);
const items = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => ({ content: { message: `log ${i}`, pad: "x".repeat(size) } }));

/** Sends the headers (and `firstBytes` of the body) now; the caller finishes the body later. */
function openPost(
  path: string,
  headers: Record<string, string | number>,
): { req: ClientRequest; answer: Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> } {
  const req = request({ host: "127.0.0.1", port: ports.rest, path, method: "POST", agent: false, headers });
  const answer = new Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }>(
    (resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
    },
  );
  return { req, answer };
}

async function grpcCall(message: Uint8Array, compressed: boolean) {
  const session = connectHttp2(`http://127.0.0.1:${ports.grpc}`);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/producer.Producer/ProduceBatch",
      "content-type": "application/grpc",
      te: "trailers",
      ...(compressed ? { "grpc-encoding": "zstd" } : {}),
    });
    const frame = Buffer.alloc(5 + message.byteLength);
    frame[0] = compressed ? 1 : 0;
    frame.writeUInt32BE(message.byteLength, 1);
    frame.set(message, 5);
    const status: Record<string, unknown> = {};
    stream.on("response", (headers) => Object.assign(status, headers));
    stream.on("trailers", (trailers) => Object.assign(status, trailers));
    stream.on("data", () => undefined);
    stream.end(frame);
    await new Promise((resolve) => stream.on("close", resolve));
    return status;
  } finally {
    session.close();
  }
}

describe("the in-flight cap (BARITO_PRODUCER_MAX_INFLIGHT_BYTES)", () => {
  it("refuses what does not fit while a slow request holds the cap, and takes everything again afterwards", async () => {
    const small = JSON.stringify({ context, items: items(10, 100) });
    const whole = Buffer.from(JSON.stringify({ context, items: items(1_500, 500) }));
    expect(whole.byteLength).toBeLessThan(cap);
    expect(whole.byteLength).toBeGreaterThan(cap * 0.75);

    // Holds ~80% of the cap from its headers on: only half its body is sent for now.
    const slow = openPost("/produce_batch", { "content-type": "application/json", "content-length": whole.byteLength });
    slow.req.write(whole.subarray(0, whole.byteLength / 2));
    await new Promise((resolve) => setTimeout(resolve, 300));

    // REST: refused from the declared length, without a byte of its body sent.
    const big = openPost("/produce_batch", { "content-type": "application/json", "content-length": 400_000 });
    big.req.flushHeaders();
    const refused = await big.answer;
    big.req.destroy();
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(JSON.parse(refused.body)).toMatchObject({ code: "OVERLOADED", details: [] });

    // What still fits is taken meanwhile.
    const fits = openPost("/produce_batch", { "content-type": "application/json" });
    fits.req.end(small);
    expect((await fits.answer).status).toBe(200);

    // gRPC: the envelope's length is reserved as soon as it is read.
    const padded = toBinary(
      TimberCollectionSchema,
      create(TimberCollectionSchema, {
        context: { kafkaTopic: "cap", kafkaPartition: 1, esIndexPrefix: "cap", appMaxTps: 1_000_000 },
        items: items(500, 500).map((item) => ({
          content: {
            fields: {
              message: { kind: { case: "stringValue", value: item.content.message } },
              pad: { kind: { case: "stringValue", value: item.content.pad } },
            },
          },
        })),
      }),
    );
    const grpcRefused = await grpcCall(padded, false);
    expect(grpcRefused["grpc-status"]).toBe("14"); // UNAVAILABLE
    expect(grpcRefused["barito-error-code"]).toBe("OVERLOADED");
    expect(grpcRefused["retry-after"]).toBe("1");
    // zstd: a few KB on the wire, ~260 KB once decompressed, which is what counts (the frame declares its size).
    const compressed = zstdCompressSync(padded);
    expect(compressed.byteLength).toBeLessThan(20_000);
    const bomb = await grpcCall(compressed, true);
    expect(bomb["grpc-status"]).toBe("14");
    expect(bomb["barito-error-code"]).toBe("OVERLOADED");

    // Connect (HTTP/1.1 JSON): the same code in the error's metadata.
    const connect = openPost("/producer.Producer/ProduceBatch", {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      "content-length": 300_000,
    });
    connect.req.flushHeaders();
    const connectRefused = await connect.answer;
    connect.req.destroy();
    expect(connectRefused.status).toBe(503);
    expect(JSON.parse(connectRefused.body)).toMatchObject({ code: "unavailable" });
    expect(connectRefused.headers["barito-error-code"]).toBe("OVERLOADED");

    // Only the slow request holds the cap now, and the gauge says so.
    const inFlightBytes = async () =>
      Number(
        /^barito_producer_inflight_bytes (\d+)$/m.exec(
          await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text(),
        )?.[1],
      );
    expect(await inFlightBytes()).toBe(whole.byteLength);

    // The slow request completes and is produced; the cap is free again.
    slow.req.end(whole.subarray(whole.byteLength / 2));
    expect((await slow.answer).status).toBe(200);
    expect((await grpcCall(compressed, true))["grpc-status"]).toBe("0");
    const after = openPost("/produce_batch", { "content-type": "application/json" });
    after.req.end(JSON.stringify({ context, items: items(1_000, 500) }));
    expect((await after.answer).status).toBe(200);
    expect(await inFlightBytes()).toBe(0);
  });
});
