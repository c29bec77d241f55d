import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ProduceResultSchema, type TimberCollection } from "@barito-flow/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Compression, encodeEnvelope } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { InFlightBudget, Reservation } from "../produce/in-flight.js";
import { ProduceError } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { compressionGzip, compressionZstd, decompressReserved } from "./compression.js";
import { toConnectError } from "./connect-errors.js";
import { collectionFromWire, WireBytesSchema } from "./grpc-wire.js";
import { requestMetaFromKey } from "./request-meta.js";

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
  /** The in-flight budget: each call reserves its envelope's length as soon as it is read. */
  budget?: InFlightBudget;
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
  const { service, readMaxBytes, budget } = options;
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

  function fail(res: Http2ServerResponse, responseEncoding: string | undefined, started: number, err: unknown) {
    if (!(err instanceof ProduceError) && !(err instanceof ConnectError)) options.onUnexpected(err);
    const error = toConnectError(err);
    answerError(res, responseEncoding, error);
    options.onCall("ProduceBatch", Code[error.code] ?? String(error.code), (performance.now() - started) / 1000);
  }

  /** Reads the message and starts the produce call: synchronous, so nothing of the request outlives it. */
  function produce(req: Http2ServerRequest, payload: Uint8Array, reservation: Reservation | undefined) {
    let collection: TimberCollection;
    try {
      collection = collectionFromWire(fromBinary(WireBytesSchema, payload));
    } catch (err) {
      throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument);
    }
    const meta = requestMetaFromKey(req.headers["idempotency-key"]);
    if (reservation !== undefined) meta.reservation = reservation;
    if (req.socket?.remoteAddress !== undefined) meta.source = req.socket.remoteAddress;
    return service.produceBatch(collection, meta);
  }

  /**
   * Not async: an async function would keep the body, the decompressed message and the parsed request alive until
   * Kafka answers. The callbacks below hold none of them.
   */
  function serve(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    body: Buffer,
    started: number,
    encoding: string | undefined,
    reservation: Reservation | undefined,
  ) {
    const compression = encoding === undefined || encoding === "identity" ? undefined : compressions.get(encoding);
    const responseEncoding = compression ? encoding : undefined;
    let pending: Promise<{ topic: string }>;
    try {
      const payload = body.subarray(5);
      if (body[0] === 1) {
        const inflating =
          reservation === undefined
            ? (compression as Compression).decompress(payload, readMaxBytes)
            : decompressReserved(compression as Compression, undefined, payload, readMaxBytes, reservation);
        pending = inflating.then((message) => produce(req, message, reservation));
      } else {
        pending = produce(req, payload, reservation);
      }
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then(
        ({ topic }) => {
          const result = toBinary(ProduceResultSchema, create(ProduceResultSchema, { topic }));
          answer(res, responseEncoding, { "grpc-status": "0" }, encodeEnvelope(0, result));
          options.onCall("ProduceBatch", "ok", (performance.now() - started) / 1000);
        },
        (err: unknown) => fail(res, responseEncoding, started, err),
      )
      .catch(options.onUnexpected)
      .finally(() => reservation?.release());
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
    const reservation = budget?.open();
    const chunks: Buffer[] = [];
    let size = 0;
    // Over the budget before the body is kept: answered UNAVAILABLE/OVERLOADED, the rest of the body is dropped.
    const refuse = (err: unknown) => {
      req.off("data", onData).off("end", onEnd);
      chunks.length = 0;
      reservation?.release();
      fail(res, undefined, started, err);
      req.resume();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > maxBody) {
        // Over the limit: connect reads the envelope header and refuses it as it always did.
        req.off("data", onData).off("end", onEnd);
        req.pause();
        reservation?.release();
        options.fallback(req, res, replay(chunks, req as AsyncIterable<Buffer>));
        return;
      }
      if (reservation === undefined) return;
      // The envelope's declared length is reserved as soon as it is known, so a large message is refused before
      // it is read.
      // The message is counted, not the 5-byte envelope prefix, so a message of exactly the size limit fits.
      const first = chunks[0] as Buffer;
      const declared = first.byteLength >= 5 ? first.readUInt32BE(1) : 0;
      const want = Math.max(size - 5, declared <= readMaxBytes ? declared : 0);
      if (want > reservation.bytes) {
        try {
          reservation.reserve(want);
        } catch (err) {
          refuse(err);
        }
      }
    };
    const onEnd = () => {
      req.off("data", onData);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      chunks.length = 0;
      const usual =
        size >= 5 &&
        body.readUInt32BE(1) === size - 5 &&
        (body[0] === 0 || (body[0] === 1 && encoding !== undefined && encoding !== "identity"));
      if (!usual) {
        reservation?.release();
        options.fallback(req, res, replay([body], undefined));
        return;
      }
      serve(req, res, body, started, encoding, reservation);
    };
    req.on("data", onData).once("end", onEnd);
    req.once("close", () => {
      // A client that went away before the end of its body: nothing was produced.
      if (!req.complete) reservation?.release();
    });
    return true;
  };
}
