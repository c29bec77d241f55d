// The hostile-input suite's generators and raw clients, shared by its cleartext run (hostile-input.it.test.ts) and its
// TLS run (hostile-input-tls.it.test.ts). The clients take a target, so the same requests go over TLS or not.
import { request as requestHttp } from "node:http";
import { connect as connectHttp2, constants as h2 } from "node:http2";
import { request as requestHttps } from "node:https";
import type { TlsCertificates } from "@barito-flow/tls";
import { expect } from "@jest/globals";
import fc from "fast-check";
import { type InProcessProducer, startInProcessProducer } from "./in-process.js";

/** Where the producer listens; `tls` holds the client's options (CA, certificate) for an HTTPS/h2 producer. */
export interface HostileTarget {
  rest: string;
  grpc: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/**
 * The producer both runs test, with limits the oversize cases cross (the gRPC message, a record, a batch); its ports
 * are HTTPS and h2 over TLS (as localhost) when `tls` is given.
 */
export async function startHostileProducer(
  run: string,
  clientId: string,
  tls?: { service: TlsCertificates; client: NonNullable<HostileTarget["tls"]> },
): Promise<{ producer: InProcessProducer; target: HostileTarget }> {
  const producer = await startInProcessProducer({
    env: {
      BARITO_NEW_TOPIC_EVENT: `it${run}_new_topic_events`,
      BARITO_GRPC_MAX_RECV_MSG_SIZE: "200000",
      BARITO_PRODUCER_MAX_MESSAGE_BYTES: "50000",
      BARITO_PRODUCER_MAX_BATCH_ITEMS: "50",
    },
    clientId,
    deliveryTimeoutMs: 10_000,
    ...(tls ? { tls: { service: tls.service } } : {}),
  });
  const target = tls
    ? {
        rest: `https://localhost:${producer.ports.rest}`,
        grpc: `https://localhost:${producer.ports.grpc}`,
        tls: tls.client,
      }
    : { rest: producer.urls.rest, grpc: producer.urls.grpc };
  return { producer, target };
}

export const validContext = (topic: string) => ({
  kafka_topic: topic,
  kafka_partition: 1,
  kafka_replication_factor: 1,
  es_index_prefix: "hostile",
  app_max_tps: 1_000_000,
});

export const jsonValue = fc.jsonValue({ maxDepth: 4 });
export const hostileContext = fc.oneof(
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
/** Broken and mistyped JSON bodies for the REST routes. */
const hostileRestBody = fc.oneof(
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
);

export interface RawAnswer {
  status: number;
  text: string;
  raw: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * POST with node:http(s) rather than fetch: a server may answer 413 before reading a huge body and close the
 * connection, which fetch reports as a network error even though the answer arrived.
 */
export function postRaw(
  target: HostileTarget,
  path: string,
  body: string | Uint8Array,
  contentType = "application/json",
): Promise<RawAnswer> {
  const request = target.tls ? requestHttps : requestHttp;
  return new Promise((resolve, reject) => {
    const req = request(
      `${target.rest}${path}`,
      { method: "POST", headers: { "content-type": contentType }, ...(target.tls ?? {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, text: raw.toString("utf8"), raw, headers: res.headers });
        });
        res.on("error", reject);
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    req.end(body);
  });
}

export function expectWellFormedRestAnswer(answer: { status: number; text: string }): void {
  expect([200, 400, 413, 429]).toContain(answer.status);
  const json = JSON.parse(answer.text) as Record<string, unknown>;
  if (answer.status === 200) expect(typeof json.topic).toBe("string");
  else {
    expect(typeof json.code).toBe("string");
    expect(typeof json.message).toBe("string");
    expect(Array.isArray(json.details)).toBe(true);
  }
}

export interface RawGrpcOptions {
  /** grpc-encoding of the payload (sent with the compressed flag); absent: uncompressed. */
  encoding?: string;
  /** More request headers (an Idempotency-Key). */
  headers?: Record<string, string>;
}

/** A property: broken and mistyped JSON bodies on both REST routes are each answered well-formed. */
export const wellFormedRestAnswers = (target: HostileTarget) =>
  fc.asyncProperty(fc.constantFrom("/produce", "/produce_batch"), hostileRestBody, async (path, body) =>
    expectWellFormedRestAnswer(await postRaw(target, path, body)),
  );

/** Broken bodies on both REST routes and valid batches of `context`, all sent at once; the answers of each kind. */
export async function sendHostileAmongValid(
  target: HostileTarget,
  context: Record<string, unknown>,
  counts: { hostile: number; valid: number },
): Promise<{ hostileAnswers: RawAnswer[]; validAnswers: RawAnswer[] }> {
  const hostile = Array.from({ length: counts.hostile }, (_, i) =>
    postRaw(target, i % 2 ? "/produce" : "/produce_batch", i % 3 ? "{" : '{"context":7}'),
  );
  const valid = Array.from({ length: counts.valid }, (_, i) =>
    postRaw(
      target,
      "/produce_batch",
      JSON.stringify({ context, items: [{ content: { i } }, { content: { i, second: true } }] }),
    ),
  );
  const [hostileAnswers, validAnswers] = await Promise.all([Promise.all(hostile), Promise.all(valid)]);
  return { hostileAnswers, validAnswers };
}

/**
 * One gRPC unary call over a raw HTTP/2 stream (the payload can be anything): grpc-status and barito metadata, or
 * status -1 when the stream closed without one.
 */
export function rawGrpcAnswer(
  target: HostileTarget,
  payload: Uint8Array,
  options: RawGrpcOptions = {},
): Promise<{ status: number; errorCode?: string; details?: string }> {
  const { encoding, headers = {} } = options;
  return new Promise((resolve, reject) => {
    const session = connectHttp2(target.grpc, target.tls ?? {});
    session.on("error", reject);
    const frame = Buffer.alloc(5 + payload.byteLength);
    frame[0] = encoding ? 1 : 0;
    frame.writeUInt32BE(payload.byteLength, 1);
    frame.set(payload, 5);
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: "POST",
      [h2.HTTP2_HEADER_PATH]: "/producer.Producer/ProduceBatch",
      "content-type": "application/grpc",
      te: "trailers",
      ...(encoding ? { "grpc-encoding": encoding } : {}),
      ...headers,
    });
    let status = -1;
    let meta: Record<string, string | string[] | undefined> = {};
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
      if (headers["grpc-status"] !== undefined) {
        status = Number(headers["grpc-status"]);
        meta = headers;
        done();
      }
    });
    stream.on("trailers", (trailers) => {
      status = Number(trailers["grpc-status"]);
      meta = trailers;
      done();
    });
    stream.on("data", () => undefined);
    stream.on("close", done);
    stream.on("error", reject);
    stream.end(frame);
  });
}
