// The producer's size, budget and parse policy on the protocols connect serves (Connect and gRPC-Web here, over
// HTTP/1.1): answered as the producer's own errors, never as connect's INTERNAL or RESOURCE_EXHAUSTED.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createInFlightBudget } from "../produce/in-flight.js";
import type { ProducerService } from "../produce/producer-service.js";
import { compressionGzip, compressionZstd } from "./compression.js";
import { producerRoutes, requestCheck } from "./connect-routes.js";
import { createRpcAdapter, notFound } from "./rpc-adapter.js";

const readMaxBytes = 1_000;
const service = {
  produce: async () => ({ topic: "single" }),
  produceBatch: async () => ({ topic: "batch" }),
} as unknown as ProducerService;
const servers: Server[] = [];

async function serve(budget = createInFlightBudget({ maxBytes: 1_000_000, maxRecords: 1_000 })): Promise<string> {
  const adapter = createRpcAdapter({
    routes: producerRoutes(service, () => {}),
    router: { acceptCompression: [compressionZstd, compressionGzip] },
    readMaxBytes,
    check: requestCheck,
    budget,
    onHandlerFailure: () => {},
  });
  const server = createServer((req, res) => {
    if (!adapter.serve(req, res)) notFound(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/producer.Producer/ProduceBatch`;
}

let url = "";
beforeAll(async () => {
  url = await serve();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const post = (body: Uint8Array | string, headers: Record<string, string>, to = url) =>
  fetch(to, { method: "POST", headers, body: typeof body === "string" ? body : Buffer.from(body) });
const envelope = (payload: Uint8Array) => {
  const frame = Buffer.alloc(5 + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 1);
  frame.set(payload, 5);
  return frame;
};
const notProtobuf = Buffer.from([0xff, 0xff, 0xff]);
/** The grpc-status of a gRPC-Web answer: its trailer frame (flag 0x80) is text. */
const grpcWebStatus = async (res: Response) =>
  /grpc-status: (\d+)/.exec(Buffer.from(await res.arrayBuffer()).toString())?.[1];

describe("the RPC body policy", () => {
  it("answers a binary body protobuf cannot read with INVALID_ARGUMENT, plain or compressed", async () => {
    for (const res of [
      await post(notProtobuf, { "content-type": "application/proto" }),
      await post(gzipSync(notProtobuf), { "content-type": "application/proto", "content-encoding": "gzip" }),
    ]) {
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(/^parse binary: /),
      });
    }
    const grpcWeb = await post(envelope(notProtobuf), { "content-type": "application/grpc-web+proto" });
    expect(await grpcWebStatus(grpcWeb)).toBe("3");
    // connect reads the first message before it sees a second one.
    const two = await post(Buffer.concat([envelope(notProtobuf), envelope(notProtobuf)]), {
      "content-type": "application/grpc-web+proto",
    });
    expect(await grpcWebStatus(two)).toBe("3");
  });

  it("names the field of a JSON value protobuf cannot decode, as REST does", async () => {
    const res = await post(JSON.stringify({ context: { appMaxTps: 3_000_000_000 }, items: [] }), {
      "content-type": "application/json",
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("barito-error-code")).toBe("INVALID_ARGUMENT");
    expect(JSON.parse(res.headers.get("barito-error-details") ?? "[]")).toEqual([
      { field: "context.app_max_tps", reason: expect.stringContaining("app_max_tps") },
    ]);
  });

  it("answers a body above the limit with PAYLOAD_TOO_LARGE naming it, and closes the HTTP/1.1 connection", async () => {
    const res = await post(Buffer.alloc(readMaxBytes + 1), { "content-type": "application/proto" });
    expect(res.status).toBe(400);
    expect(res.headers.get("barito-error-code")).toBe("PAYLOAD_TOO_LARGE");
    expect(res.headers.get("connection")).toBe("close");
    expect(JSON.parse(res.headers.get("barito-error-details") ?? "[]")).toEqual([
      { field: "body", reason: "at most 1000 bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)" },
    ]);
    const declared = Buffer.alloc(10);
    declared.writeUInt32BE(readMaxBytes + 1, 1);
    const grpcWeb = await post(declared, { "content-type": "application/grpc-web+proto" });
    expect(Buffer.from(await grpcWeb.arrayBuffer()).toString()).toMatch(/barito-error-code: PAYLOAD_TOO_LARGE\r\n/);
  });

  it("refuses a body the in-flight budget cannot take now with OVERLOADED", async () => {
    const budget = createInFlightBudget({ maxBytes: 500, maxRecords: 1_000 });
    const busy = budget.open();
    busy.reserve(400);
    const body = JSON.stringify({ items: [{ content: { blob: "x".repeat(200) } }] });
    const res = await post(body, { "content-type": "application/json" }, await serve(budget));
    expect(res.status).toBe(503);
    expect(res.headers.get("barito-error-code")).toBe("OVERLOADED");
    busy.release();
    expect(budget.usage()).toEqual({ bytes: 0, records: 0 });
  });

  it("lets a valid request through", async () => {
    const res = await post(JSON.stringify({ context: { kafkaTopic: "shop" }, items: [] }), {
      "content-type": "application/json",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ topic: "batch" });
  });
});
