import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouterOptions,
  createConnectRouter,
  type ConnectRouter,
} from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromString, codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { currentReservation, type InFlightBudget, type Reservation } from "../produce/in-flight.js";
import { ProduceError } from "../produce/produce-error.js";
import { errorMetadata, payloadTooLarge, toConnectError } from "./connect-routes.js";
import { fieldOfDecodeError } from "./rest-body.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

export interface RpcNodeHandlerOptions extends ConnectRouterOptions {
  /** The request size limit (BARITO_GRPC_MAX_RECV_MSG_SIZE), also given to connect as `readMaxBytes`. */
  readMaxBytes: number;
  routes: (router: ConnectRouter) => void;
  /** Routes that take precedence for requests with a protobuf (binary) body: gRPC, Connect and gRPC-Web. */
  binaryRoutes?: (router: ConnectRouter) => void;
  fallback?: (req: NodeRequest, res: NodeResponse) => void;
  /**
   * Tried first for every request: returns true when it serves the request itself. It gets `serveWithBody` to hand
   * a request back with the body chunks it already read.
   */
  fastPath?: (
    serveWithBody: (req: NodeRequest, res: NodeResponse, body: AsyncIterable<Uint8Array>) => void,
  ) => (req: NodeRequest, res: NodeResponse) => boolean;
  onHandlerFailure: (err: unknown) => void;
  /** The in-flight budget: every RPC reserves its body as it is read (its declared length first). */
  budget?: InFlightBudget;
}

/**
 * connect-node's adapter, plus corrections of two framework answers, on every protocol (gRPC, Connect, gRPC-Web):
 * - a request body that is not valid protobuf is INTERNAL ("parse binary: ..."), i.e. a server fault, although the
 *   client sent garbage: answered INVALID_ARGUMENT;
 * - a message above `readMaxBytes` is RESOURCE_EXHAUSTED, the code of rate limiting, so clients could not tell "never
 *   retry this" from "retry later": answered INVALID_ARGUMENT with `barito-error-code: PAYLOAD_TOO_LARGE` and
 *   `barito-error-details` naming the limit, like every other oversize rejection.
 * - a JSON body protobuf-es cannot decode (a number out of range, an unknown key) is INVALID_ARGUMENT with the field
 *   only in the message text: answered with `barito-error-code` and `barito-error-details` naming the field, as REST
 *   answers the same body.
 * Nothing else is touched.
 */
export function createRpcNodeHandler(options: RpcNodeHandlerOptions) {
  const router = createConnectRouter(options);
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const binaryRouter = createConnectRouter(options);
  options.binaryRoutes?.(binaryRouter);
  const binaryHandlers = new Map(binaryRouter.handlers.map((handler) => [handler.requestPath, handler]));
  const notFound = (_req: NodeRequest, res: NodeResponse) => {
    (res as ServerResponse).writeHead(404).end();
  };
  function dispatch(req: NodeRequest, res: NodeResponse, body: AsyncIterable<Uint8Array> | undefined): void {
    const path = req.url?.split("?", 2)[0] ?? "";
    const handler =
      (binaryContentTypes.has(req.headers["content-type"] ?? "") ? binaryHandlers.get(path) : undefined) ??
      handlers.get(path);
    if (!handler) {
      (options.fallback ?? notFound)(req, res);
      return;
    }
    const reservation = options.budget?.open();
    const metered = reservation === undefined ? body : meteredBody(req, res, body, reservation, options.readMaxBytes);
    // A body given here replaces reading the request (connect takes it where it takes a pre-parsed body).
    const serve = () =>
      handler(universalRequestFromNodeRequest(req, res, metered as never, undefined))
        .then((response) => reclassifyFrameworkErrors(response, options.readMaxBytes, req.httpVersionMajor === 1))
        .then((response) => universalResponseToNodeResponse(response, res))
        .catch((err: unknown) => {
          if (ConnectError.from(err).code !== Code.Aborted) options.onHandlerFailure(err);
        })
        .finally(() => reservation?.release());
    // Decompression and the route handlers find the reservation here (connect gives them no way to pass it).
    if (reservation === undefined) serve();
    else currentReservation.run(reservation, serve);
  }
  const fastPath = options.fastPath?.(dispatch);
  return function rpcNodeHandler(req: NodeRequest, res: NodeResponse): void {
    if (fastPath?.(req, res)) return;
    dispatch(req, res, undefined);
  };
}

// The protobuf content types of gRPC, gRPC-Web and Connect unary (JSON bodies keep the schema's own parser).
const binaryContentTypes = new Set([
  "application/grpc",
  "application/grpc+proto",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/proto",
]);

const parseFailure = "parse binary";
const readLimitMessage = /larger than configured readMaxBytes/;
const jsonDecodeFailure = /^(?:\[invalid_argument\] )?cannot decode (?:field|message) producer\./;

/** The error to answer instead of a framework error, or undefined to keep it. */
function replacementFor(code: Code, message: string, readMaxBytes: number): ConnectError | undefined {
  if (code === Code.Internal && message.startsWith(parseFailure))
    return new ConnectError(message, Code.InvalidArgument);
  if (code === Code.ResourceExhausted && readLimitMessage.test(message)) return payloadTooLarge(readMaxBytes);
  if (code === Code.InvalidArgument && jsonDecodeFailure.test(message)) {
    const reason = message.replace(/^\[invalid_argument\] /, "");
    return toConnectError(ProduceError.invalid([{ field: fieldOfDecodeError(reason), reason }]));
  }
  return undefined;
}

/** grpc-status / grpc-message plus the error's metadata, as gRPC and gRPC-Web send them in trailers. */
function applyToTrailer(target: Headers, error: ConnectError): void {
  target.delete("grpc-status-details-bin");
  setTrailerStatus(target, error);
  for (const [key, value] of error.metadata) target.set(key, value);
}

function grpcError(headers: Headers | undefined): { code: Code; message: string } | undefined {
  const status = headers?.get("grpc-status");
  if (status === null || status === undefined || status === "0") return undefined;
  return { code: Number(status) as Code, message: decodeURIComponent(headers?.get("grpc-message") ?? "") };
}

async function readBody(response: UniversalServerResponse): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  if (response.body) for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function withBody(response: UniversalServerResponse, status: number, body: Uint8Array): UniversalServerResponse {
  if (response.header?.has("content-length")) response.header.set("content-length", String(body.byteLength));
  return {
    ...response,
    status,
    body: (async function* () {
      yield body;
    })(),
  };
}

async function reclassifyFrameworkErrors(
  response: UniversalServerResponse,
  readMaxBytes: number,
  http1: boolean,
): Promise<UniversalServerResponse> {
  // An oversize request is answered before its body was read; over HTTP/1.1 the unread rest is still on the socket,
  // so the connection is closed after the answer (a keep-alive client would otherwise wait on it forever).
  const closeIfOversize = (replacement: ConnectError) => {
    if (http1 && replacement.metadata.get(errorMetadata.code) === "PAYLOAD_TOO_LARGE") {
      response.header?.set("connection", "close");
    }
  };
  // gRPC: the status is in the trailers, or in the headers of a trailers-only answer.
  for (const headers of [response.header, response.trailer]) {
    const error = grpcError(headers);
    const replacement = error && replacementFor(error.code, error.message, readMaxBytes);
    if (headers && replacement) applyToTrailer(headers, replacement);
  }
  const contentType = response.header?.get("content-type") ?? "";
  const isConnectError = response.status >= 400 && contentType.startsWith("application/json");
  const isGrpcWeb = contentType.startsWith("application/grpc-web");
  if (!response.body || !(isConnectError || isGrpcWeb)) return response;

  // Unary answers to rejected requests are small; buffering them is cheap. Successful gRPC-Web answers are
  // buffered too (one message plus the trailer frame).
  const body = await readBody(response);
  if (isConnectError) {
    let error: { code?: string; message?: string } = {};
    try {
      error = JSON.parse(body.toString("utf8")) as typeof error;
    } catch {
      return withBody(response, response.status, body);
    }
    const code = typeof error.code === "string" ? codeFromString(error.code) : undefined;
    const replacement = code === undefined ? undefined : replacementFor(code, error.message ?? "", readMaxBytes);
    if (!replacement) return withBody(response, response.status, body);
    // Connect unary errors carry their metadata as plain response headers.
    for (const [key, value] of replacement.metadata) response.header?.set(key, value);
    closeIfOversize(replacement);
    return withBody(response, codeToHttpStatus(replacement.code), errorToJsonBytes(replacement, {}));
  }
  // gRPC-Web: the last frame (flag 0x80) holds the trailers as text.
  let offset = 0;
  while (offset + 5 <= body.byteLength) {
    const length = body.readUInt32BE(offset + 1);
    if ((body[offset] ?? 0) & trailerFlag && offset + 5 + length <= body.byteLength) {
      const trailer = trailerParse(body.subarray(offset + 5, offset + 5 + length));
      const error = grpcError(trailer);
      const replacement = error && replacementFor(error.code, error.message, readMaxBytes);
      if (!replacement) break;
      applyToTrailer(trailer, replacement);
      closeIfOversize(replacement);
      const data = trailerSerialize(trailer);
      const frame = Buffer.alloc(5 + data.byteLength);
      frame[0] = body[offset] ?? trailerFlag;
      frame.writeUInt32BE(data.byteLength, 1);
      frame.set(data, 5);
      return withBody(response, response.status, Buffer.concat([body.subarray(0, offset), frame]));
    }
    offset += 5 + length;
  }
  return withBody(response, response.status, body);
}

/**
 * The request body as connect reads it, each chunk reserved before it is kept. A declared Content-Length is reserved
 * before the first byte is read; when it does not fit, connect answers the error at once (UNAVAILABLE,
 * `barito-error-code: OVERLOADED`) and the body is dropped as it arrives. A body without a declared length that
 * outgrows the budget is refused the same way and its HTTP/1.1 connection closed (its rest has no bound).
 */
async function* meteredBody(
  req: NodeRequest,
  res: NodeResponse,
  body: AsyncIterable<Uint8Array> | undefined,
  reservation: Reservation,
  readMaxBytes: number,
): AsyncIterable<Uint8Array> {
  // Above readMaxBytes connect refuses the body itself, with the answer it always gave.
  const declared = Number(req.headers["content-length"]);
  try {
    if (declared > 0 && declared <= readMaxBytes) reservation.reserve(declared);
  } catch (err) {
    // The declared body (within readMaxBytes) is read and dropped: the connection stays usable.
    req.resume();
    throw toConnectError(err);
  }
  let size = 0;
  for await (const chunk of body ?? (req as AsyncIterable<Uint8Array>)) {
    size += chunk.byteLength;
    if (size > reservation.bytes && size <= readMaxBytes) {
      try {
        reservation.reserve(size);
      } catch (err) {
        if (req.httpVersionMajor === 1) (res as ServerResponse).setHeader("connection", "close");
        throw toConnectError(err);
      }
    }
    yield chunk;
  }
}
