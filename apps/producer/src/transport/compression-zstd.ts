import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

/**
 * grpc-encoding "zstd", which barito-router always sends. Decompression stops at `readMaxBytes`, so a small
 * compressed frame cannot expand into an unbounded allocation (a zstd bomb).
 */
export const compressionZstd: Compression = {
  name: "zstd",
  async compress(bytes) {
    return new Uint8Array(await zstdCompress(bytes));
  },
  async decompress(bytes, readMaxBytes) {
    if (bytes.byteLength === 0) return new Uint8Array(0);
    try {
      return new Uint8Array(await zstdDecompress(bytes, { maxOutputLength: readMaxBytes }));
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
        throw new ConnectError(
          `message is larger than ${readMaxBytes} bytes after zstd decompression`,
          Code.ResourceExhausted,
        );
      }
      throw new ConnectError("invalid zstd-compressed message", Code.InvalidArgument, undefined, undefined, err);
    }
  },
};
