import { create, fromBinary, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { TimberContextSchema, TimberSchema } from "../index.js";
import { MAX_NESTING } from "./struct-json.js";
import { TimberReader } from "./timber-reader.js";
import { TimberWriter } from "./timber-writer.js";

// The codec against protobuf-es, in both directions: what the writer writes, protobuf-es decodes to the same message;
// what protobuf-es (or any protobuf writer: unknown fields, repeated keys) writes, the reader reads to the JSON that
// protobuf-es's decoded content stringifies to, or leaves to protobuf-es (undefined), never to a different document.

const context = create(TimberContextSchema, { kafkaTopic: "shop", kafkaPartition: 3, esIndexPrefix: "shop" });
const contextBytes = toBinary(TimberContextSchema, context);

/** A Struct as a protobuf writer may lay it out: the model of the bytes, unknown fields and repeated keys included. */
type Unknown = { no: number; wireType: 0 | 1 | 2 | 5; value: number };
type WireValue =
  | { kind: "null" | "number" | "string" | "bool"; value: number | string | boolean; unknown: Unknown | null }
  | { kind: "struct"; entries: WireEntry[]; unknown: Unknown | null }
  | { kind: "list"; values: WireValue[]; unknown: Unknown | null };
type WireEntry = { key: string; value: WireValue; unknown: Unknown | null };

// Keys that a JavaScript object keeps in insertion order (no integer-like ones): then wire order is object order.
const key = fc.constantFrom("a", "b", "message", "é ü", 'q"\\', "@timestamp", "", "tab\t", "😀", "\uFEFFbom");
const unknown = (firstFree: number) =>
  fc.option(
    fc.record({
      no: fc.integer({ min: firstFree, max: 2 ** 29 - 1 }),
      wireType: fc.constantFrom(0 as const, 1 as const, 2 as const, 5 as const),
      value: fc.nat(),
    }),
    { freq: 4 },
  );
const text = fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 30 }));
const number = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 63, 1e21));

const { value: wireValue } = fc.letrec<{ value: WireValue; entries: WireEntry[]; values: WireValue[] }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ kind: fc.constant("null" as const), value: fc.constant(0), unknown: unknown(7) }),
    fc.record({ kind: fc.constant("number" as const), value: number, unknown: unknown(7) }),
    fc.record({ kind: fc.constant("string" as const), value: text, unknown: unknown(7) }),
    fc.record({ kind: fc.constant("bool" as const), value: fc.boolean(), unknown: unknown(7) }),
    fc.record({ kind: fc.constant("struct" as const), entries: tie("entries"), unknown: unknown(7) }),
    fc.record({ kind: fc.constant("list" as const), values: tie("values"), unknown: unknown(7) }),
  ) as fc.Arbitrary<WireValue>,
  entries: fc.array(fc.record({ key, value: tie("value"), unknown: unknown(3) }), { maxLength: 5 }) as fc.Arbitrary<
    WireEntry[]
  >,
  values: fc.array(tie("value"), { maxLength: 4 }) as fc.Arbitrary<WireValue[]>,
}));
const content = fc.array(fc.record({ key, value: wireValue, unknown: unknown(3) }), { maxLength: 8 });

function writeUnknown(writer: BinaryWriter, field: Unknown | null): void {
  if (field === null) return;
  writer.tag(field.no, field.wireType);
  if (field.wireType === WireType.Varint) writer.uint32(field.value);
  else if (field.wireType === WireType.Bit64) writer.fixed64(field.value);
  else if (field.wireType === WireType.Bit32) writer.fixed32(field.value);
  else writer.bytes(new Uint8Array(field.value % 5).fill(field.value & 0xff));
}

function writeValue(writer: BinaryWriter, value: WireValue): void {
  if (value.kind === "null") writer.tag(1, WireType.Varint).int32(0);
  else if (value.kind === "number") writer.tag(2, WireType.Bit64).double(value.value as number);
  else if (value.kind === "string") writer.tag(3, WireType.LengthDelimited).string(value.value as string);
  else if (value.kind === "bool") writer.tag(4, WireType.Varint).bool(value.value as boolean);
  else if (value.kind === "struct") {
    writer.tag(5, WireType.LengthDelimited).fork();
    writeEntries(writer, value.entries);
    writer.join();
  } else if (value.kind === "list") {
    writer.tag(6, WireType.LengthDelimited).fork();
    for (const item of value.values) {
      writer.tag(1, WireType.LengthDelimited).fork();
      writeValue(writer, item);
      writer.join();
    }
    writer.join();
  }
  writeUnknown(writer, value.unknown);
}

function writeEntries(writer: BinaryWriter, entries: readonly WireEntry[]): void {
  for (const entry of entries) {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(entry.key);
    writeUnknown(writer, entry.unknown);
    writer.tag(2, WireType.LengthDelimited).fork();
    writeValue(writer, entry.value);
    writer.join().join();
  }
}

function timberBytes(entries: readonly WireEntry[] | undefined, timestamp: string): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).bytes(contextBytes);
  if (timestamp !== "") writer.tag(2, WireType.LengthDelimited).string(timestamp);
  if (entries !== undefined) {
    writer.tag(3, WireType.LengthDelimited).fork();
    writeEntries(writer, entries);
    writer.join();
  }
  return writer.finish();
}

/** Whether the model is what `toBinary` could have written: no unknown field, no key twice in one struct. */
function plain(entries: readonly WireEntry[]): boolean {
  const keys = new Set(entries.map((entry) => entry.key));
  return keys.size === entries.length && entries.every((entry) => entry.unknown === null && plainValue(entry.value));
}
function plainValue(value: WireValue): boolean {
  if (value.unknown !== null) return false;
  if (value.kind === "struct") return plain(value.entries);
  if (value.kind === "list") return value.values.every(plainValue);
  return true;
}

/** The document protobuf-es makes of a Timber: its content, plus "@timestamp" when the content has none. */
function referenceDocument(bytes: Uint8Array): string {
  const timber = fromBinary(TimberSchema, bytes);
  const content: JsonObject = timber.content ?? {};
  const add = !("@timestamp" in content) && timber.timestamp !== "";
  return JSON.stringify(add ? { ...content, "@timestamp": timber.timestamp } : content);
}

describe("bytes written by protobuf writers, read by TimberReader", () => {
  const reader = new TimberReader();

  it("give the JSON of protobuf-es's decoded content, or are left to protobuf-es (strict reading)", () => {
    fc.assert(
      fc.property(fc.option(content, { freq: 10 }), fc.constantFrom("", "2026-01-01T00:00:00Z"), (entries, ts) => {
        const bytes = timberBytes(entries ?? undefined, ts);
        const read = reader.readPlainTimber(bytes);
        if (entries === null || plain(entries)) {
          expect(read?.json).toBe(referenceDocument(bytes));
          expect(read?.indexPrefix).toBe("shop");
          expect(read?.timestamp).toBe(ts);
        } else expect(read).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it("give the JSON of protobuf-es's decoded content, unknown fields and repeated keys included (lenient)", () => {
    fc.assert(
      fc.property(content, (entries) => {
        const bytes = timberBytes(entries, "ts");
        expect(reader.contentJson(bytes)).toBe(JSON.stringify(fromBinary(TimberSchema, bytes).content));
      }),
      { numRuns: 3000 },
    );
  });

  it("are read the same as text and as bytes, whatever the reader read in between", () => {
    fc.assert(
      fc.property(content, content, (first, second) => {
        const a = timberBytes(first, "t1");
        const text = reader.readPlainTimber(a)?.json;
        reader.readPlainTimber(timberBytes(second, "t2"), true);
        expect(reader.readPlainTimber(a, true)?.json.toString()).toBe(text);
        expect(new TimberReader().readPlainTimber(a)?.json).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("read negative int32 context fields (ten-byte varints) and leave a packed scalar to protobuf-es", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.boolean(), (n, flag) => {
        const negative = create(TimberContextSchema, {
          kafkaPartition: n,
          kafkaReplicationFactor: -1,
          esIndexPrefix: "p",
          appMaxTps: n,
          disableAppTps: flag,
          appGroupMaxTps: ~n,
        });
        const bytes = toBinary(TimberSchema, create(TimberSchema, { context: negative, content: { n } }));
        expect(reader.readPlainTimber(bytes)?.indexPrefix).toBe(fromBinary(TimberSchema, bytes).context?.esIndexPrefix);
      }),
    );
    // kafka_partition (2) as a packed run: a wire type the singular field does not have.
    const packed = new BinaryWriter().tag(1, WireType.LengthDelimited).fork();
    packed.tag(2, WireType.LengthDelimited).bytes(Uint8Array.of(3, 4)).join();
    expect(reader.readPlainTimber(packed.finish())).toBeUndefined();
  });

  it("never throw or hang on a truncated record: a prefix is read as protobuf-es reads it, or left to it", () => {
    fc.assert(
      fc.property(content, fc.nat(), (entries, cut) => {
        const whole = timberBytes(entries, "2026-01-01T00:00:00Z");
        const bytes = Buffer.from(whole.subarray(0, cut % (whole.length + 1)));
        let document: string | undefined;
        let contentJson: string | undefined;
        try {
          document = referenceDocument(bytes);
          contentJson = JSON.stringify(fromBinary(TimberSchema, bytes).content ?? {});
        } catch {
          // protobuf-es refuses the prefix (a field cut short): so must the readers
        }
        const read = reader.readPlainTimber(bytes);
        expect(read?.json).toBe(plain(entries) || read !== undefined ? document : undefined);
        expect(reader.contentJson(bytes)).toBe(contentJson);
      }),
      { numRuns: 2000 },
    );
  });

  it("leave values protobuf would merge (the same struct twice, a value twice in an entry) to protobuf-es", () => {
    const struct = (k: string) => ({ kind: "struct" as const, entries: [{ key: k, value: leaf, unknown: null }] });
    const leaf: WireValue = { kind: "bool", value: true, unknown: null };
    const writer = new BinaryWriter();
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k");
    writer.tag(2, WireType.LengthDelimited).fork();
    for (const part of [struct("a"), struct("b")]) writeValue(writer, { ...part, unknown: null });
    writer.join().join().join();
    const twice = writer.finish();
    expect(fromBinary(TimberSchema, twice).content).toEqual({ k: { a: true, b: true } });
    expect(reader.readPlainTimber(twice)).toBeUndefined();
    expect(reader.contentJson(twice)).toBeUndefined();
  });

  it("read nesting up to MAX_NESTING (deeper than protobuf-es's recursion limit) and leave deeper to protobuf-es", () => {
    const nested = (levels: number) => {
      // content {"k": [[[...null...]]]}: Value{list_value{values: Value}} sizes from the inside out, then written
      // front to back into one buffer (wrapping ever larger copies would be quadratic).
      const sizes = [2];
      for (let i = 1; i <= levels; i++) {
        const inner = sizes[i - 1] as number;
        const list = 1 + varintSize(inner) + inner;
        sizes.push(1 + varintSize(list) + list);
      }
      const value = sizes[levels] as number;
      const entry = 3 + 1 + varintSize(value) + value;
      const writer = new BinaryWriter();
      writer.tag(3, WireType.LengthDelimited).uint32(1 + varintSize(entry) + entry);
      writer.tag(1, WireType.LengthDelimited).uint32(entry).tag(1, WireType.LengthDelimited).string("k");
      writer.tag(2, WireType.LengthDelimited).uint32(value);
      for (let i = levels; i >= 1; i--) {
        const inner = sizes[i - 1] as number;
        writer.tag(6, WireType.LengthDelimited).uint32(1 + varintSize(inner) + inner);
        writer.tag(1, WireType.LengthDelimited).uint32(inner);
      }
      return writer.tag(1, WireType.Varint).uint32(0).finish();
    };
    const sixty = nested(60);
    expect(() => fromBinary(TimberSchema, sixty)).toThrow("maximum recursion depth");
    expect(reader.readPlainTimber(sixty)?.json).toBe(`{"k":${"[".repeat(60)}null${"]".repeat(60)}}`);
    expect(reader.readPlainTimber(nested(MAX_NESTING))?.json).toBe(
      `{"k":${"[".repeat(MAX_NESTING)}null${"]".repeat(MAX_NESTING)}}`,
    );
    expect(reader.readPlainTimber(nested(MAX_NESTING + 1))).toBeUndefined();
    expect(reader.readPlainTimber(nested(200_000))).toBeUndefined();
    expect(reader.contentJson(nested(200_000))).toBeUndefined();
  });
});

function varintSize(n: number): number {
  return n < 0x80 ? 1 : 1 + varintSize(Math.floor(n / 128));
}

describe("bytes written by TimberWriter, decoded by protobuf-es", () => {
  const writer = new TimberWriter();
  const json = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 10 }) as fc.Arbitrary<JsonObject>;
  // In memory (not parsed from JSON) content may hold what JSON cannot: NaN, the infinities, -0.
  const odd = fc.dictionary(fc.string({ maxLength: 4 }), number as fc.Arbitrary<JsonValue>, { maxKeys: 4 });

  it("give the message they were written from", () => {
    fc.assert(
      fc.property(fc.oneof(json, odd), fc.string(), (content, timestamp) => {
        const decoded = fromBinary(TimberSchema, writer.encode(contextBytes, timestamp, content));
        expect(decoded).toEqual(create(TimberSchema, { context, timestamp, content }));
      }),
      { numRuns: 2000 },
    );
  });

  it("are toBinary's bytes for numbers JSON cannot carry", () => {
    fc.assert(
      fc.property(odd, (content) => {
        const expected = toBinary(TimberSchema, create(TimberSchema, { context, content }));
        expect(Buffer.from(writer.encode(contextBytes, "", content))).toEqual(Buffer.from(expected));
      }),
    );
  });

  it("refuse content nested deeper than the stack with a RangeError, and the writer stays usable", () => {
    let deep: JsonValue = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => writer.encode(contextBytes, "", { deep })).toThrow(RangeError);
    expect(fromBinary(TimberSchema, writer.encode(undefined, "t", { ok: true })).content).toEqual({ ok: true });
  });
});
