// Micro-benchmark of @barito-flow/proto/wire against protobuf-es, and of the codec's own primitives against
// @bufbuild/protobuf/wire's BinaryReader/BinaryWriter in the same algorithm. Run: pnpm --filter @barito-flow/proto bench
// (builds dist first). Figures: packages/proto/README.md.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { TimberContextSchema, TimberSchema } from "../dist/index.js";
import { TimberReader, TimberWriter } from "../dist/wire/index.js";
import { NOT_READABLE } from "../dist/wire/wire-cursor.js";

// The context as the bench's producer gets it from the control plane.
const context = create(TimberContextSchema, { kafkaTopic: "bench", kafkaReplicationFactor: 1, esIndexPrefix: "bench" });
const contextBytes = toBinary(TimberContextSchema, context);
const timestamp = "2026-01-02T03:04:05Z";
const logs = {
  small: { message: "GET /api/v1/orders/12345 200", level: "info", service: "shop", duration_ms: 12.5 },
  typical: {
    message: "GET /api/v1/orders/12345 200 12ms user-agent=curl/8.5 trace=4bf92f3577b34da6a3ce929d0e0e4736",
    level: "info",
    service: "shop",
    "http.status_code": 200,
    duration_ms: 12.5,
    tags: ["checkout", "eu-west-1", "canary"],
    user: { id: "u-12345", ip: "10.0.0.1", roles: ["buyer"] },
    ok: true,
  },
  large: { message: "x".repeat(900), stack: "é at line\n".repeat(20), level: "error", codes: [1, 2, 3, 4, 5, 6, 7, 8] },
};

/** The codec's reader with BinaryReader's varint (uint32) in place of its own. */
class BinaryReaderVarint extends TimberReader {
  #reader = new BinaryReader(new Uint8Array(0));
  start(bytes: Uint8Array) {
    super.start(bytes);
    this.#reader = new BinaryReader(bytes);
  }
  varint(end: number) {
    const reader = this.#reader;
    reader.pos = this.pos;
    const value = reader.uint32();
    this.pos = reader.pos;
    if (this.pos > end) throw NOT_READABLE;
    return value;
  }
}

/** The Timber written with BinaryWriter (fork/join per message) instead of the two-pass writer. */
function binaryWriterEncode(content: Record<string, unknown>): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, 2).bytes(contextBytes).tag(2, 2).string(timestamp).tag(3, 2).fork();
  writeStruct(writer, content);
  return writer.join().finish();
}
function writeStruct(writer: BinaryWriter, object: Record<string, unknown>) {
  for (const key in object) {
    writer.tag(1, 2).fork().tag(1, 2).string(key).tag(2, 2).fork();
    writeValue(writer, object[key]);
    writer.join().join();
  }
}
function writeValue(writer: BinaryWriter, value: unknown) {
  if (value === null) writer.tag(1, 0).int32(0);
  else if (typeof value === "number") writer.tag(2, 1).double(value);
  else if (typeof value === "string") writer.tag(3, 2).string(value);
  else if (typeof value === "boolean") writer.tag(4, 0).bool(value);
  else if (Array.isArray(value)) {
    writer.tag(6, 2).fork();
    for (const item of value) {
      writer.tag(1, 2).fork();
      writeValue(writer, item);
      writer.join();
    }
    writer.join();
  } else {
    writer.tag(5, 2).fork();
    writeStruct(writer, value as Record<string, unknown>);
    writer.join();
  }
}

function measure(name: string, run: () => unknown, rounds = 7, iterations = 50_000): void {
  for (let i = 0; i < iterations; i++) run(); // warm-up
  const perOp: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) run();
    perOp.push(Number(process.hrtime.bigint() - started) / iterations);
  }
  perOp.sort((a, b) => a - b);
  console.log(`${name.padEnd(48)} ${(perOp[Math.floor(rounds / 2)] as number).toFixed(0).padStart(6)} ns/op`);
}

const writer = new TimberWriter();
const reader = new TimberReader();
const binaryReaderVarint = new BinaryReaderVarint();
for (const [size, content] of Object.entries(logs)) {
  const bytes = Buffer.from(toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content })));
  const expected = reader.readPlainTimber(bytes)?.json;
  if (binaryReaderVarint.readPlainTimber(bytes)?.json !== expected) throw new Error("variants disagree");
  if (!Buffer.from(binaryWriterEncode(content)).equals(Buffer.from(writer.encode(contextBytes, timestamp, content))))
    throw new Error("writers disagree");
  console.log(`${size} log (${bytes.length} bytes)`);
  measure("  write: TimberWriter.encode", () => writer.encode(contextBytes, timestamp, content));
  measure("  write: same Timber with BinaryWriter", () => binaryWriterEncode(content));
  measure("  write: toBinary(create(...))", () =>
    toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content })),
  );
  measure("  read: TimberReader.readPlainTimber (bytes)", () => reader.readPlainTimber(bytes, true));
  measure("  read: same with BinaryReader.uint32 varints", () => binaryReaderVarint.readPlainTimber(bytes, true));
  measure("  read: fromBinary + JSON.stringify", () => JSON.stringify(fromBinary(TimberSchema, bytes).content));
}
