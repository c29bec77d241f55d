import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Reservation } from "../produce/in-flight.js";
import { payloadTooLarge, toConnectError } from "./connect-errors.js";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** Checks one whole request message (decompressed), throwing the error to answer instead of connect's parse error. */
export type MessageCheck = (message: Uint8Array) => void;

/**
 * What connect calls without a way to pass it (decompression, the route handlers) finds here: the call's share of
 * the in-flight budget, and the check its decompressed message must pass.
 */
export interface RpcCall {
  reservation: Reservation | undefined;
  /** BARITO_GRPC_MAX_RECV_MSG_SIZE, which the codecs apply to decompressed messages. */
  readMaxBytes: number;
  check: MessageCheck | undefined;
  /** The caller's address (the app-secret lockout counts failures by it). */
  remoteAddress?: string | undefined;
}
export const currentRpcCall = new AsyncLocalStorage<RpcCall>();

const envelopedContentType = /^application\/grpc(?:-web)?(?:\+|;|$)/;

/**
 * The request body as connect reads it, with the producer's size, budget and parse policy applied before connect
 * sees a byte, so connect's own answers never need rewriting:
 * - above the size limit (a declared Content-Length, an envelope's declared length, or the bytes read): INVALID_ARGUMENT
 *   with `barito-error-code: PAYLOAD_TOO_LARGE`, and over HTTP/1.1 the connection closed after the answer (the
 *   unread rest of the body is still on the socket). connect's own limit is set out of reach.
 * - each chunk reserved in the in-flight budget before it is kept (a declared Content-Length first): UNAVAILABLE /
 *   OVERLOADED when it does not fit;
 * - an uncompressed message that `check` refuses: its error (a compressed one is checked by the codec).
 */
export async function* checkedBody(
  req: NodeRequest,
  res: NodeResponse,
  source: AsyncIterable<Uint8Array>,
  call: RpcCall,
): AsyncIterable<Uint8Array> {
  const { reservation, readMaxBytes } = call;
  const enveloped = envelopedContentType.test(req.headers["content-type"] ?? "");
  const http1 = req.httpVersionMajor === 1;
  const tooLarge = () => {
    if (http1) (res as ServerResponse).setHeader("connection", "close");
    return payloadTooLarge(readMaxBytes);
  };
  const declared = Number(req.headers["content-length"]);
  if (!enveloped && declared > readMaxBytes) throw tooLarge();
  try {
    if (declared > 0 && declared <= readMaxBytes) reservation?.reserve(declared);
  } catch (err) {
    // The declared body (within the limit) is read and dropped: the connection stays usable.
    req.resume();
    throw toConnectError(err);
  }
  let chunks: Uint8Array[] = [];
  let size = 0;
  // The first envelope's declared message length, once its 5-byte prefix has arrived.
  let declaredMessage: number | undefined;
  // More than one envelope: not a shape this checks; connect reads it as it comes and answers it.
  let streaming = false;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (!enveloped && size > readMaxBytes) throw tooLarge();
    if (reservation !== undefined && size > reservation.bytes && size <= readMaxBytes + 5) {
      try {
        reservation.reserve(size);
      } catch (err) {
        if (http1) (res as ServerResponse).setHeader("connection", "close");
        throw toConnectError(err);
      }
    }
    if (streaming) {
      yield chunk;
      continue;
    }
    chunks.push(chunk);
    if (!enveloped) continue;
    if (declaredMessage === undefined && size >= 5) {
      declaredMessage = Buffer.concat(chunks, size).readUInt32BE(1);
      if (declaredMessage > readMaxBytes) throw tooLarge();
    }
    if (declaredMessage !== undefined && size > 5 + declaredMessage) {
      // connect parses the first message before it looks for a second one: that message gets the check too.
      streaming = true;
      const head = Buffer.concat(chunks, size);
      chunks = [];
      checkFirstMessage(head, call);
      yield head;
    }
  }
  if (streaming) return;
  const body = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
  chunks = [];
  if (enveloped) checkFirstMessage(body, call);
  else if (!compressed(req)) call.check?.(body);
  yield body;
}

/** The check of a body's first envelope, when it is complete and not compressed (the codec checks compressed ones). */
function checkFirstMessage(body: Uint8Array, call: RpcCall): void {
  if (body.byteLength < 5 || body[0] !== 0) return;
  const length = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
  if (body.byteLength >= 5 + length) call.check?.(body.subarray(5, 5 + length));
}

function compressed(req: NodeRequest): boolean {
  const encoding = req.headers["content-encoding"];
  return encoding !== undefined && encoding !== "identity";
}
