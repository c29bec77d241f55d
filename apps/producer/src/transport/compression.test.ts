import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import { compressionGzip, compressionZstd } from "./compression.js";

describe("compressionZstd", () => {
  it("round-trips and interoperates with plain zstd frames", async () => {
    const payload = Buffer.from(JSON.stringify({ message: "x".repeat(1000) }));
    const compressed = await compressionZstd.compress(payload);
    expect(compressed.byteLength).toBeLessThan(payload.byteLength);
    expect(Buffer.from(zlib.zstdDecompressSync(compressed))).toEqual(payload);
    expect(Buffer.from(await compressionZstd.decompress(zlib.zstdCompressSync(payload), 10_000))).toEqual(payload);
  });

  it("refuses a frame that expands beyond the read limit (zstd bomb) without allocating it", async () => {
    const bomb = zlib.zstdCompressSync(Buffer.alloc(50_000_000));
    expect(bomb.byteLength).toBeLessThan(10_000);
    const error = await compressionZstd.decompress(bomb, 1_000_000).catch((e: unknown) => e);
    // Oversize, not rate limiting: INVALID_ARGUMENT with the machine-readable code and the limit.
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(error).metadata.get("barito-error-code")).toBe("PAYLOAD_TOO_LARGE");
    expect(ConnectError.from(error).metadata.get("barito-error-details")).toContain("at most 1000000 bytes");
    const gzipError = await compressionGzip
      .decompress(zlib.gzipSync(Buffer.alloc(50_000_000)), 1_000_000)
      .catch((e: unknown) => e);
    expect(ConnectError.from(gzipError).code).toBe(Code.InvalidArgument);
  });

  it("decompresses messages beyond the synchronous bound (4 MiB) up to the read limit", async () => {
    const payload = Buffer.alloc(6_000_000, "a");
    for (const [compression, compressed] of [
      [compressionZstd, zlib.zstdCompressSync(payload)],
      [compressionGzip, zlib.gzipSync(payload)],
    ] as const) {
      expect(Buffer.from(await compression.decompress(compressed, 10_000_000))).toEqual(payload);
      const error = await compression.decompress(compressed, 5_000_000).catch((e: unknown) => e);
      expect(ConnectError.from(error).metadata.get("barito-error-code")).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("reports garbage as an invalid argument, not a crash", async () => {
    const error = await compressionZstd.decompress(Buffer.from("not zstd at all"), 1_000).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
  });
});
