import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { overloaded, type Reservation } from "../produce/in-flight.js";
import { errorMetadata, payloadTooLarge } from "./connect-errors.js";
import { currentRpcCall } from "./rpc-body.js";

type ZlibFn = (input: Uint8Array, options: zlib.ZlibOptions & zlib.ZstdOptions) => Promise<Buffer>;

/** Largest output decompressed synchronously (a few milliseconds of the event loop at most). */
const syncMaxBytes = 4 * 1024 * 1024;

/** The output as a Uint8Array over the same memory (`new Uint8Array(buffer)` would copy it). */
function view(output: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(output.buffer as ArrayBuffer, output.byteOffset, output.byteLength);
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError;
}

/**
 * A grpc-encoding whose decompression stops at `readMaxBytes`, so a small compressed frame cannot expand into an
 * unbounded allocation (a compression bomb) and is refused like any oversize request (INVALID_ARGUMENT with
 * `barito-error-code: PAYLOAD_TOO_LARGE`, not RESOURCE_EXHAUSTED, which means rate limiting); corrupt input is the client's
 * fault (INVALID_ARGUMENT), never INTERNAL.
 */
function boundedCompression(
  name: string,
  compress: ZlibFn,
  decompress: ZlibFn,
  decompressSync: (input: Uint8Array, options: zlib.ZlibOptions & zlib.ZstdOptions) => Buffer,
): Compression {
  async function inflate(bytes: Uint8Array, readMaxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
    if (bytes.byteLength === 0) return new Uint8Array(0);
    try {
      // Usual requests are decompressed at once on the main thread: the asynchronous stream API costs several
      // times the decompression itself (a 40 KB batch: ~250 µs of CPU instead of ~50). The blocking is bounded by
      // syncMaxBytes of output; anything larger goes to the thread pool as before.
      if (bytes.byteLength <= syncMaxBytes) {
        try {
          return view(decompressSync(bytes, { maxOutputLength: Math.min(readMaxBytes, syncMaxBytes) }));
        } catch (err) {
          if (!(readMaxBytes > syncMaxBytes && isTooLarge(err))) throw err;
        }
      }
      return view(await decompress(bytes, { maxOutputLength: readMaxBytes }));
    } catch (err) {
      if (isTooLarge(err)) {
        throw payloadTooLarge(readMaxBytes);
      }
      throw new ConnectError(`invalid ${name}-compressed message`, Code.InvalidArgument, undefined, undefined, err);
    }
  }
  const compression: Compression = {
    name,
    async compress(bytes) {
      return new Uint8Array(await compress(bytes, {}));
    },
    // Called by connect, whose own limit is out of reach (rpc-body.ts): the call's limit applies, and its message
    // gets the call's parse check once decompressed.
    async decompress(bytes, readMaxBytes) {
      const call = currentRpcCall.getStore();
      const limit = Math.min(readMaxBytes, call?.readMaxBytes ?? readMaxBytes);
      const output =
        call?.reservation === undefined
          ? await inflate(bytes, limit)
          : await decompressReserved(compression, inflate, bytes, limit, call.reservation);
      call?.check?.(output);
      return output;
    },
  };
  inflaters.set(compression, inflate);
  return compression;
}

type Inflate = (bytes: Uint8Array, readMaxBytes: number) => Promise<Uint8Array<ArrayBuffer>>;
const inflaters = new WeakMap<Compression, Inflate>();

/**
 * Decompresses within the request's reservation: the output, which can be a thousand times the wire size, is
 * reserved before it exists. A zstd frame that declares its size reserves exactly that (a declared size above the
 * limit is refused at once); otherwise the output may take what the budget has free, and more is OVERLOADED (503,
 * retry later) rather than PAYLOAD_TOO_LARGE, which is kept for outputs above BARITO_GRPC_MAX_RECV_MSG_SIZE. Afterwards
 * the reservation is the output's size (the compressed bytes are garbage then).
 */
export async function decompressReserved(
  compression: Compression,
  inflate: Inflate | undefined,
  bytes: Uint8Array,
  readMaxBytes: number,
  reservation: Reservation,
): Promise<Uint8Array<ArrayBuffer>> {
  const run = inflate ?? inflaters.get(compression) ?? ((b, max) => compression.decompress(b, max));
  const declared = compression.name === "zstd" ? zstdContentSize(bytes) : undefined;
  if (declared !== undefined && declared > readMaxBytes) throw payloadTooLarge(readMaxBytes);
  const wire = Math.max(reservation.bytes, bytes.byteLength);
  const limit = declared ?? Math.min(readMaxBytes, reservation.bytes + reservation.available());
  reservation.reserve(Math.max(wire, limit));
  let output: Uint8Array<ArrayBuffer>;
  try {
    output = await run(bytes, limit < readMaxBytes && declared === undefined ? limit : readMaxBytes);
  } catch (err) {
    if (limit < readMaxBytes && declared === undefined && err instanceof ConnectError && isPayloadTooLarge(err)) {
      throw overloaded("bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE of decompressed output did not fit)");
    }
    throw err;
  } finally {
    reservation.shrinkTo(wire);
  }
  reservation.reserve(output.byteLength);
  return output;
}

function isPayloadTooLarge(err: ConnectError): boolean {
  return err.metadata.get(errorMetadata.code) === "PAYLOAD_TOO_LARGE";
}

/**
 * The Frame_Content_Size of a zstd frame header (RFC 8878 §3.1.1.1), when the frame declares one; undefined for
 * anything else (no size, a skippable frame, not zstd). A frame that lies about it fails to decompress.
 */
export function zstdContentSize(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 6 || bytes[0] !== 0x28 || bytes[1] !== 0xb5 || bytes[2] !== 0x2f || bytes[3] !== 0xfd)
    return undefined;
  const descriptor = bytes[4] as number;
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3] as number;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag] as number;
  if (sizeBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
  if (bytes.byteLength < at + sizeBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, sizeBytes);
  switch (sizeBytes) {
    case 1:
      return view.getUint8(0);
    case 2:
      return view.getUint16(0, true) + 256;
    case 4:
      return view.getUint32(0, true);
    default:
      return Number(view.getBigUint64(0, true));
  }
}

/** What barito-router always sends. */
export const compressionZstd = boundedCompression(
  "zstd",
  promisify(zlib.zstdCompress),
  promisify(zlib.zstdDecompress),
  zlib.zstdDecompressSync,
);
export const compressionGzip = boundedCompression(
  "gzip",
  promisify(zlib.gzip),
  promisify(zlib.gunzip),
  zlib.gunzipSync,
);
