import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { payloadTooLarge } from "./connect-routes.js";

type ZlibFn = (input: Uint8Array, options: zlib.ZlibOptions & zlib.ZstdOptions) => Promise<Buffer>;

/**
 * A grpc-encoding whose decompression stops at `readMaxBytes`, so a small compressed frame cannot expand into an
 * unbounded allocation (a compression bomb) and is refused like any oversize request (INVALID_ARGUMENT with
 * `barito-error-code: PAYLOAD_TOO_LARGE`, not RESOURCE_EXHAUSTED, which means rate limiting); corrupt input is the client's
 * fault (INVALID_ARGUMENT), never INTERNAL.
 */
function boundedCompression(name: string, compress: ZlibFn, decompress: ZlibFn): Compression {
  return {
    name,
    async compress(bytes) {
      return new Uint8Array(await compress(bytes, {}));
    },
    async decompress(bytes, readMaxBytes) {
      if (bytes.byteLength === 0) return new Uint8Array(0);
      try {
        return new Uint8Array(await decompress(bytes, { maxOutputLength: readMaxBytes }));
      } catch (err) {
        if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
          throw payloadTooLarge(readMaxBytes);
        }
        throw new ConnectError(`invalid ${name}-compressed message`, Code.InvalidArgument, undefined, undefined, err);
      }
    },
  };
}

/** What barito-router always sends. */
export const compressionZstd = boundedCompression("zstd", promisify(zlib.zstdCompress), promisify(zlib.zstdDecompress));
export const compressionGzip = boundedCompression("gzip", promisify(zlib.gzip), promisify(zlib.gunzip));
