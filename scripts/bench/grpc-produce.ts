// One gRPC ProduceBatch call from a raw HTTP/2 client, with the request pre-encoded and zstd-compressed once (the
// bytes barito-router would send): connect's Node client would encode and compress every request itself, taking
// more CPU than the producer on the shared cores.
import type { ClientHttp2Session } from "node:http2";
import { zstdCompressSync } from "node:zlib";

/** A gRPC length-prefixed message frame of the zstd-compressed `message` (a TimberCollection's bytes). */
export function produceBatchFrame(message: Uint8Array): Buffer {
  const compressed = zstdCompressSync(message);
  const frame = Buffer.alloc(5 + compressed.byteLength);
  frame[0] = 1; // compressed
  frame.writeUInt32BE(compressed.byteLength, 1);
  frame.set(compressed, 5);
  return frame;
}

export interface ProduceBatchAnswer {
  /** grpc-status from the headers or trailers; -1 when the call ended without one (reset, connection lost). */
  status: number;
  /** The producer's barito-error-code, when it refused the call. */
  code: string | undefined;
}

export function produceBatch(session: ClientHttp2Session, frame: Buffer): Promise<ProduceBatchAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/producer.Producer/ProduceBatch",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-encoding": "zstd",
      "grpc-accept-encoding": "zstd",
    });
    const answer: ProduceBatchAnswer = { status: -1, code: undefined };
    const read = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) answer.status = Number(headers["grpc-status"]);
      if (typeof headers["barito-error-code"] === "string") answer.code = headers["barito-error-code"];
    };
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("data", () => undefined);
    stream.on("close", () => resolve(answer));
    stream.on("error", () => resolve({ status: -1, code: undefined }));
    stream.end(frame);
  });
}
