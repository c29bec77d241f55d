import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ProduceResultSchema, type TimberCollection } from "@barito-flow/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { ProduceError } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { compressionGzip, compressionZstd } from "./compression.js";
import { requestMetaFromKey, toConnectError } from "./connect-routes.js";
import { collectionFromWire, WireBytesSchema } from "./grpc-wire.js";

export interface GrpcFastPathOptions {
  service: Pick<ProducerService, "produceBatch">;
  /** BARITO_GRPC_MAX_RECV_MSG_SIZE. */
  readMaxBytes: number;
  onUnexpected: (err: unknown) => void;
  /** Called once per answered call: gRPC code name ("ok" on success) and duration. */
  onCall: (route: string, status: string, seconds: number) => void;
  /**
   * Serves a call the fast path does not take after all, with the body chunks it already read followed by the rest
   * of the request (connect then answers exactly as it always did).
   */
  fallback: (req: Http2ServerRequest, res: Http2ServerResponse, body: AsyncIterable<Uint8Array>) => void;
}

const path = "/producer.Producer/ProduceBatch";
const contentTypes = new Set(["application/grpc", "application/grpc+proto"]);
const compressions = new Map([
  ["zstd", compressionZstd],
  ["gzip", compressionGzip],
]);

async function* replay(chunks: readonly Buffer[], rest: AsyncIterable<Buffer> | undefined): AsyncIterable<Uint8Array> {
  yield* chunks;
  if (rest) yield* rest;
}

/**
 * gRPC `ProduceBatch` (the call barito-router makes) served on Node's HTTP/2 request directly: one buffered
 * envelope, decompressed, read by grpc-wire.ts, answered with one message and a trailer. connect's generic handler
 * built async iterables, Web Headers, abort controllers and promise chains per call, a fifth of the main thread at
 * batch load. The answers are connect's, byte for byte: same headers, same trailers (grpc-status, grpc-message,
 * barito-error-* metadata), same codes. Whatever is not the usual shape (several or no envelopes, a body over the
 * size limit, an unknown grpc-encoding, a compressed envelope without one) goes to connect through `fallback`, with
 * the bytes already read.
 *
 * Returns false for calls it does not serve (other paths and protocols); the caller routes those as before.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions) {
  const { service, readMaxBytes } = options;
  const maxBody = readMaxBytes + 5;

  function answer(
    res: Http2ServerResponse,
    encoding: string | undefined,
    trailers: Record<string, string>,
    message?: Uint8Array,
  ): void {
    if (res.stream.destroyed) return;
    res.writeHead(200, {
      "content-type": "application/grpc+proto",
      ...(encoding === undefined ? {} : { "grpc-encoding": encoding }),
    });
    res.addTrailers(trailers);
    if (message === undefined) res.end();
    else res.end(message);
  }

  function answerError(res: Http2ServerResponse, encoding: string | undefined, error: ConnectError): void {
    const trailer = new Headers();
    setTrailerStatus(trailer, error); // grpc-status, grpc-message and the error's metadata
    const trailers: Record<string, string> = {};
    for (const [key, value] of trailer) trailers[key] = value;
    answer(res, encoding, trailers);
  }

  async function serve(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    body: Buffer,
    started: number,
    encoding: string | undefined,
  ) {
    const compression = encoding === undefined || encoding === "identity" ? undefined : compressions.get(encoding);
    const responseEncoding = compression ? encoding : undefined;
    try {
      let payload: Uint8Array = body.subarray(5);
      if (body[0] === 1)
        payload = await (compression as NonNullable<typeof compression>).decompress(payload, readMaxBytes);
      let collection: TimberCollection;
      try {
        collection = collectionFromWire(fromBinary(WireBytesSchema, payload));
      } catch (err) {
        throw new ConnectError(
          `parse binary: ${err instanceof Error ? err.message : String(err)}`,
          Code.InvalidArgument,
        );
      }
      const { topic } = await service.produceBatch(collection, requestMetaFromKey(req.headers["idempotency-key"]));
      const result = toBinary(ProduceResultSchema, create(ProduceResultSchema, { topic }));
      answer(res, responseEncoding, { "grpc-status": "0" }, encodeEnvelope(0, result));
      options.onCall("ProduceBatch", "ok", (performance.now() - started) / 1000);
    } catch (err) {
      if (!(err instanceof ProduceError) && !(err instanceof ConnectError)) options.onUnexpected(err);
      const error = toConnectError(err);
      answerError(res, responseEncoding, error);
      options.onCall("ProduceBatch", Code[error.code] ?? String(error.code), (performance.now() - started) / 1000);
    }
  }

  return function grpcFastPath(req: Http2ServerRequest, res: Http2ServerResponse): boolean {
    const contentType = req.headers["content-type"];
    if (req.url !== path || req.method !== "POST" || typeof contentType !== "string" || !contentTypes.has(contentType))
      return false;
    const encoding = req.headers["grpc-encoding"];
    if (Array.isArray(encoding) || (encoding !== undefined && encoding !== "identity" && !compressions.has(encoding)))
      return false;
    // connect refuses a malformed deadline, so that goes to connect; a valid one changes nothing there (the service
    // does not watch the call's signal), so it changes nothing here either.
    const timeout = req.headers["grpc-timeout"];
    if (timeout !== undefined && (Array.isArray(timeout) || parseTimeout(timeout, Number.MAX_SAFE_INTEGER).error))
      return false;
    const started = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > maxBody) {
        // Over the limit: connect reads the envelope header and refuses it as it always did.
        req.off("data", onData).off("end", onEnd);
        req.pause();
        options.fallback(req, res, replay(chunks, req as AsyncIterable<Buffer>));
      }
    };
    const onEnd = () => {
      req.off("data", onData);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const usual =
        size >= 5 &&
        body.readUInt32BE(1) === size - 5 &&
        (body[0] === 0 || (body[0] === 1 && encoding !== undefined && encoding !== "identity"));
      if (!usual) {
        options.fallback(req, res, replay(chunks, undefined));
        return;
      }
      serve(req, res, body, started, encoding).catch(options.onUnexpected);
    };
    req.on("data", onData).once("end", onEnd);
    return true;
  };
}
