import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import { createInFlightBudget } from "../produce/in-flight.js";
import { compressionGzip, compressionZstd, decompressReserved, zstdContentSize } from "./compression.js";

describe("compressionZstd", () => {
  it("round-trips and interoperates with plain zstd frames", async () => {
    const payload = Buffer.from(JSON.stringify({ message: "x".repeat(1000) }));
    const compressed = await compressionZstd.compress(payload);
    expect(compressed.byteLength).toBeLessThan(payload.byteLength);
    expect(Buffer.from(zlib.zstdDecompressSync(compressed))).toEqual(payload);
    expect(Buffer.from(await compressionZstd.decompress(zlib.zstdCompressSync(payload), 10_000))).toEqual(payload);
  });

  it("refuses a frame that expands beyond the read limit (zstd bomb) without allocating it", async () => {
    // Ten times the read limit shows the bound as well as fifty did, at a fifth of the compression work.
    const bomb = zlib.zstdCompressSync(Buffer.alloc(10_000_000));
    expect(bomb.byteLength).toBeLessThan(1_000);
    const error = await compressionZstd.decompress(bomb, 1_000_000).catch((e: unknown) => e);
    // Oversize, not rate limiting: INVALID_ARGUMENT with the machine-readable code and the limit.
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(error).metadata.get("barito-error-code")).toBe("PAYLOAD_TOO_LARGE");
    expect(ConnectError.from(error).metadata.get("barito-error-details")).toContain("at most 1000000 bytes");
    const gzipError = await compressionGzip
      .decompress(zlib.gzipSync(Buffer.alloc(10_000_000)), 1_000_000)
      .catch((e: unknown) => e);
    expect(ConnectError.from(gzipError).code).toBe(Code.InvalidArgument);
  });

  it("decompresses messages beyond the synchronous bound (4 MiB) up to the read limit", async () => {
    const payload = Buffer.alloc(6_000_000, "a");
    for (const [compression, compressed] of [
      [compressionZstd, zlib.zstdCompressSync(payload)],
      [compressionGzip, zlib.gzipSync(payload)],
    ] as const) {
      // Buffer#equals, not toEqual: Jest's deep equality walks 6 MB byte by byte (tens of seconds of CPU).
      const output = Buffer.from(await compression.decompress(compressed, 10_000_000));
      expect(output.byteLength).toBe(payload.byteLength);
      expect(output.equals(payload)).toBe(true);
      const error = await compression.decompress(compressed, 5_000_000).catch((e: unknown) => e);
      expect(ConnectError.from(error).metadata.get("barito-error-code")).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("reports garbage as an invalid argument, not a crash", async () => {
    const error = await compressionZstd.decompress(Buffer.from("not zstd at all"), 1_000).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
  });
});

describe("decompressReserved()", () => {
  const payload = Buffer.alloc(300_000, "a");
  const declared = zlib.zstdCompressSync(payload);
  const undeclared = zlib.zstdCompressSync(payload, { params: { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 } });
  const codeOf = (error: unknown) => ConnectError.from(error).metadata.get("barito-error-code");

  it("reads the size a zstd frame declares", () => {
    expect(zstdContentSize(declared)).toBe(300_000);
    expect(zstdContentSize(undeclared)).toBeUndefined();
    expect(zstdContentSize(zlib.gzipSync(payload))).toBeUndefined();
    expect(zstdContentSize(zlib.zstdCompressSync(Buffer.alloc(100)))).toBe(100);
  });

  it("leaves the reservation at the output's size", async () => {
    for (const frame of [declared, undeclared]) {
      const budget = createInFlightBudget({ maxBytes: 1_000_000, maxRecords: 10 });
      const reservation = budget.open();
      reservation.reserve(frame.byteLength);
      const output = await decompressReserved(compressionZstd, undefined, frame, 500_000, reservation);
      expect(output.byteLength).toBe(300_000);
      expect(budget.usage().bytes).toBe(300_000);
      reservation.release();
      expect(budget.usage().bytes).toBe(0);
    }
  });

  it("answers OVERLOADED when the output does not fit what is free, PAYLOAD_TOO_LARGE above the read limit", async () => {
    for (const frame of [declared, undeclared]) {
      const budget = createInFlightBudget({ maxBytes: 1_000_000, maxRecords: 10 });
      const other = budget.open();
      other.reserve(800_000);
      const reservation = budget.open();
      reservation.reserve(frame.byteLength);
      const error = await decompressReserved(compressionZstd, undefined, frame, 500_000, reservation).catch((e) => e);
      expect(error).toMatchObject({ code: "OVERLOADED", httpStatus: 503, retryAfterMs: 1_000 });
      // Nothing of the refused output stays reserved.
      expect(budget.usage().bytes).toBe(800_000 + frame.byteLength);
      other.release();
      const tooLarge = await decompressReserved(compressionZstd, undefined, frame, 200_000, reservation).catch(
        (e) => e,
      );
      expect(codeOf(tooLarge)).toBe("PAYLOAD_TOO_LARGE");
    }
  });
});
