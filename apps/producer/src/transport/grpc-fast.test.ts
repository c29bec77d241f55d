// The gRPC fast path must answer every request exactly as connect's handler does (headers, message, trailers):
// both serve the same fake service on loopback HTTP/2 servers, and each request goes to both.
import {
  type ClientHttp2Session,
  connect,
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { type TimberCollection, TimberCollectionSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { ProduceError } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { compressionGzip, compressionZstd } from "./compression.js";
import { producerRoutes, requestCheck } from "./connect-routes.js";
import { createGrpcFastPath } from "./grpc-fast.js";
import { createRpcAdapter } from "./rpc-adapter.js";

const readMaxBytes = 64 * 1024;
const calls: string[] = [];

/** Answers by the context's topic name, so each outcome is one request away. */
const service = {
  async produce() {
    return { topic: "single" };
  },
  async produceBatch(collection: TimberCollection, meta: { idempotencyKey?: string }) {
    const topic = collection.context?.kafkaTopic ?? "";
    calls.push(`${topic}:${collection.items.length}:${meta.idempotencyKey ?? ""}`);
    if (topic === "") throw ProduceError.invalid([{ field: "context.kafka_topic", reason: "required" }]);
    if (topic === "limited")
      throw new ProduceError("RATE_LIMITED", "rate limit of 1 logs/s exceeded", { retryAfterMs: 2_500 });
    if (topic === "boom") throw new Error("unexpected failure");
    return { topic: `${topic}_logs` };
  },
} as unknown as ProducerService;

function handler(fast: boolean) {
  const unexpected: unknown[] = [];
  const onUnexpected = (err: unknown) => unexpected.push(err);
  const adapter = createRpcAdapter({
    routes: producerRoutes(service, onUnexpected),
    router: { acceptCompression: [compressionZstd, compressionGzip] },
    readMaxBytes,
    check: requestCheck,
    onHandlerFailure: onUnexpected,
  });
  const fastPath = createGrpcFastPath({
    service,
    readMaxBytes,
    onUnexpected,
    onCall: () => {},
    fallback: (req, res, body) => adapter.serve(req, res, body),
  });
  return (req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (fast && fastPath(req, res)) return;
    adapter.serve(req, res);
  };
}

const servers: Http2Server[] = [];
const serverSessions: ServerHttp2Session[] = [];
const sessions: Record<"connect" | "fast", ClientHttp2Session> = {} as never;

beforeAll(async () => {
  for (const kind of ["connect", "fast"] as const) {
    const server = createServer({}, handler(kind === "fast"));
    server.on("session", (session) => serverSessions.push(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    sessions[kind] = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});

afterAll(async () => {
  // Destroyed on both ends: a call answered before its body was read (over the size limit) stays open on Node's
  // client, which, unlike grpc-go's, does not reset a stream the server has ended, and keeps the sessions open.
  for (const session of [...Object.values(sessions), ...serverSessions]) session.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Call {
  body: Buffer;
  headers?: Record<string, string>;
}

function send(session: ClientHttp2Session, call: Call) {
  return new Promise<{ headers: Record<string, unknown>; trailers?: Record<string, unknown>; data: string }>(
    (resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": "/producer.Producer/ProduceBatch",
        "content-type": "application/grpc",
        te: "trailers",
        ...call.headers,
      });
      const out: { headers: Record<string, unknown>; trailers?: Record<string, unknown>; data: string } = {
        headers: {},
        data: "",
      };
      const chunks: Buffer[] = [];
      req.on("response", (headers) => {
        out.headers = { ...headers };
        delete out.headers.date;
      });
      req.on("trailers", (trailers) => {
        out.trailers = { ...trailers };
      });
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => resolve({ ...out, data: Buffer.concat(chunks).toString("hex") }));
      req.on("error", reject);
      req.end(call.body);
    },
  );
}

async function sameAnswer(call: Call) {
  const reference = await send(sessions.connect, call);
  const fast = await send(sessions.fast, call);
  expect(fast).toEqual(reference);
  return reference;
}

const envelope = (payload: Uint8Array, flags = 0) => {
  const frame = Buffer.alloc(5 + payload.byteLength);
  frame[0] = flags;
  frame.writeUInt32BE(payload.byteLength, 1);
  frame.set(payload, 5);
  return frame;
};
const collection = (topic: string, items = 2) =>
  toBinary(
    TimberCollectionSchema,
    create(TimberCollectionSchema, {
      context: { kafkaTopic: topic, kafkaPartition: 1, kafkaReplicationFactor: 1, esIndexPrefix: "app", appMaxTps: 10 },
      items: Array.from({ length: items }, (_, i) => ({ content: { i, message: `log ${i} ünïcode` } })),
    }),
  );

describe("gRPC ProduceBatch fast path", () => {
  it.each([
    ["identity", { body: envelope(collection("app")) }],
    ["zstd", { body: envelope(zstdCompressSync(collection("app")), 1), headers: { "grpc-encoding": "zstd" } }],
    ["gzip", { body: envelope(gzipSync(collection("app")), 1), headers: { "grpc-encoding": "gzip" } }],
    ["zstd header, plain envelope", { body: envelope(collection("app")), headers: { "grpc-encoding": "zstd" } }],
    ["grpc+proto", { body: envelope(collection("app")), headers: { "content-type": "application/grpc+proto" } }],
    ["idempotency key", { body: envelope(collection("app")), headers: { "idempotency-key": "k-1" } }],
    [
      "over-long idempotency key",
      { body: envelope(collection("app")), headers: { "idempotency-key": "k".repeat(300) } },
    ],
    ["invalid request", { body: envelope(collection("")) }],
    ["rate limited", { body: envelope(collection("limited")) }],
    ["unexpected failure", { body: envelope(collection("boom")) }],
    ["not protobuf", { body: envelope(Buffer.from([0xff, 0xff, 0xff])) }],
    ["corrupt zstd", { body: envelope(Buffer.from("nope"), 1), headers: { "grpc-encoding": "zstd" } }],
    [
      "zstd bomb",
      { body: envelope(zstdCompressSync(Buffer.alloc(readMaxBytes * 4)), 1), headers: { "grpc-encoding": "zstd" } },
    ],
    ["no message", { body: Buffer.alloc(0) }],
    ["two messages", { body: Buffer.concat([envelope(collection("app")), envelope(collection("app"))]) }],
    ["cut envelope", { body: envelope(collection("app")).subarray(0, 9) }],
    ["declared length over the limit", { body: Buffer.from([0, 0, 0x10, 0, 0, 1, 2, 3]) }],
    ["body over the limit", { body: envelope(Buffer.alloc(readMaxBytes + 100, 0x41)) }],
    ["unknown encoding", { body: envelope(collection("app"), 1), headers: { "grpc-encoding": "br" } }],
    ["compressed without an encoding", { body: envelope(collection("app"), 1) }],
    ["unknown flags", { body: envelope(collection("app"), 0x40) }],
    ["deadline", { body: envelope(collection("app")), headers: { "grpc-timeout": "5S" } }],
    ["deadline already passed", { body: envelope(collection("app")), headers: { "grpc-timeout": "1n" } }],
    ["malformed deadline", { body: envelope(collection("app")), headers: { "grpc-timeout": "soon" } }],
  ] as const)("answers %s exactly as connect does", async (_name, call) => {
    await sameAnswer(call as Call);
  });

  it("passes the request to the service once per call, with its idempotency key", async () => {
    calls.length = 0;
    await sameAnswer({ body: envelope(collection("app", 3)), headers: { "idempotency-key": "abc" } });
    expect(calls).toEqual(["app:3:abc", "app:3:abc"]);
  });

  it("answers arbitrary bodies exactly as connect does", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((bytes) => envelope(bytes)),
          fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
          fc
            .tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 }))
            .map(([topic, items, cut]) => envelope(collection(topic, items)).subarray(0, 5 + 200 - cut)),
        ),
        fc.constantFrom(undefined, "zstd", "gzip", "identity"),
        async (body, encoding) => {
          await sameAnswer({ body, ...(encoding ? { headers: { "grpc-encoding": encoding } } : {}) });
        },
      ),
      { numRuns: 150 },
    );
  });
});
