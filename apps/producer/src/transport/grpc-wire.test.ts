import { create, fromBinary, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberContextSchema } from "@barito-flow/proto";
import { WireContentTimber } from "@barito-flow/proto/wire";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { ProduceError } from "../produce/produce-error.js";
import { buildRecords } from "../produce/records.js";
import { collectionFromWire, produceBatchWireMethod } from "./grpc-wire.js";

const context = create(TimberContextSchema, {
  kafkaTopic: "shop",
  kafkaPartition: 3,
  esIndexPrefix: "shop",
  appMaxTps: 10,
});
const receivedAt = new Date("2026-03-04T05:06:07.890Z");

/** The records, or the violations of content OpenSearch would refuse (produce/content-rules.ts). */
function records(collection: ReturnType<typeof collectionFromWire>, format: "Timber" | "TimberCollection") {
  try {
    return buildRecords(
      collection.items,
      collection.context ?? context,
      format,
      receivedAt,
      "key",
      (i) => `items[${i}]`,
    ).map(({ record }) => ({ value: Buffer.from(record.value), headers: record.headers }));
  } catch (err) {
    if (err instanceof ProduceError) return { refused: err.details };
    throw err;
  }
}

/** The request as the binary route reads it, and as fromBinary reads it; the records of both must be identical. */
function compare(bytes: Uint8Array): { fast: boolean } {
  const wire = collectionFromWire(fromBinary(produceBatchWireMethod.input, bytes));
  const reference = fromBinary(TimberCollectionSchema, bytes);
  expect(wire.context).toEqual(reference.context);
  expect(wire.items.length).toBe(reference.items.length);
  for (const format of ["Timber", "TimberCollection"] as const) {
    expect(records(wire, format)).toEqual(records(reference, format));
  }
  return { fast: wire.items.length > 0 && wire.items.every((item) => WireContentTimber.wireOf(item) !== undefined) };
}

function encode(contents: JsonObject[]): Uint8Array {
  return toBinary(
    TimberCollectionSchema,
    create(TimberCollectionSchema, { context, items: contents.map((content) => ({ content })) }),
  );
}

// Hand-built wire bytes: field tag + length + payload.
function field(tag: number, payload: Uint8Array | number[]): Buffer {
  const bytes = Buffer.from(payload);
  return Buffer.concat([Buffer.from([tag]), varint(bytes.byteLength), bytes]);
}
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const contextField = field(0x0a, toBinary(TimberContextSchema, context));
function withItemContents(...structs: Buffer[]): Buffer {
  return Buffer.concat([contextField, ...structs.map((struct) => field(0x12, field(0x1a, struct)))]);
}
function entry(key: string | Buffer, value: Buffer): Buffer {
  return field(
    0x0a,
    Buffer.concat([field(0x0a, typeof key === "string" ? Buffer.from(key) : key), field(0x12, value)]),
  );
}
const stringValue = (text: string | Buffer) => field(0x1a, typeof text === "string" ? Buffer.from(text) : text);

describe("collectionFromWire()", () => {
  it("gives the records of fromBinary for any JSON content, reading the plain ones without decoding them", () => {
    // Any string as a key, and the usual log keys (arbitrary ones often hold a dot, a space or a leading digit,
    // which send a batch to fromBinary).
    const key = fc.oneof(fc.string(), fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/));
    const content = fc.dictionary(key, fc.jsonValue({ maxDepth: 5 }), { maxKeys: 12 });
    let fast = 0;
    fc.assert(
      fc.property(fc.array(content, { minLength: 1, maxLength: 5 }), (contents) => {
        const parsed = contents.map((c) => JSON.parse(JSON.stringify(c)) as JsonObject);
        if (compare(encode(parsed)).fast) fast++;
      }),
      { numRuns: 800 },
    );
    // Most generated batches hold a key or number that goes to fromBinary (a dot, a space, a leading digit, |x| >= 2^63
    // in any of up to five items); enough still take the fast path.
    expect(fast).toBeGreaterThan(15);
  });

  it("reads the usual log shape on the fast path", () => {
    const log = { message: "GET /x 200 ✓", level: "info", duration_ms: 12.5, ok: true, none: null, tags: ["a", 1] };
    expect(compare(encode([log, { nested: { deep: [{ a: {} }] } }, {}])).fast).toBe(true);
  });

  it("leaves everything unusual to fromBinary, with the same result", () => {
    const cases: Buffer[] = [
      withItemContents(Buffer.concat([entry("a", stringValue("1")), entry("a", stringValue("2"))])), // repeated key
      withItemContents(entry("1", stringValue("x"))), // integer-like key
      withItemContents(entry("__proto__", stringValue("x"))),
      withItemContents(
        entry("a", Buffer.concat([Buffer.from([0x11]), Buffer.from(new Float64Array([Number.NaN]).buffer)])),
      ),
      withItemContents(entry("a", Buffer.from([0x20, 0x02]))), // bool 2
      withItemContents(entry("a", Buffer.from([0x08, 0x01]))), // null_value 1
      withItemContents(entry("a", Buffer.concat([stringValue("x"), Buffer.from([0x20, 0x01])]))), // two kinds
      withItemContents(entry("a", Buffer.alloc(0))), // Value without kind
      withItemContents(field(0x0a, field(0x0a, Buffer.from("a")))), // entry without value
      withItemContents(Buffer.from([0x0a, 0x80, 0x00])), // non-minimal varint
      withItemContents(Buffer.concat([entry("a", stringValue("x")), Buffer.from([0x18, 0x01])])), // unknown field
      Buffer.concat([contextField, contextField, withItemContents(entry("a", stringValue("x")))]), // repeated context
      Buffer.concat([
        contextField,
        field(0x12, Buffer.concat([field(0x12, Buffer.from("ts")), field(0x1a, entry("a", stringValue("x")))])),
      ]),
      Buffer.concat([
        contextField,
        field(
          0x12,
          Buffer.concat([field(0x1a, entry("a", stringValue("x"))), field(0x1a, entry("b", stringValue("y")))]),
        ),
      ]), // repeated content: merged
      Buffer.concat([withItemContents(entry("a", stringValue("x"))), Buffer.from([0x18, 0x05])]), // unknown top-level field
    ];
    for (const bytes of cases) expect(compare(bytes).fast).toBe(false);
  });

  it("fails like fromBinary on malformed requests", () => {
    const truncated = withItemContents(entry("a", stringValue("xyz"))).subarray(0, -2);
    expect(() => fromBinary(TimberCollectionSchema, truncated)).toThrow();
    expect(() => collectionFromWire(fromBinary(produceBatchWireMethod.input, truncated))).toThrow();
    // fromBinary rejects invalid UTF-8 in strings; so does the binary route (it is left to fromBinary).
    const invalidUtf8 = withItemContents(entry("a", stringValue(Buffer.from([0xff, 0xfe]))));
    expect(() => fromBinary(TimberCollectionSchema, invalidUtf8)).toThrow("utf-8");
    expect(() => collectionFromWire(fromBinary(produceBatchWireMethod.input, invalidUtf8))).toThrow("utf-8");
    const badStruct = Buffer.concat([contextField, field(0x12, field(0x1a, Buffer.from([0x0a, 0x05, 0x0a])))]);
    expect(() => fromBinary(TimberCollectionSchema, badStruct)).toThrow();
    expect(() => collectionFromWire(fromBinary(produceBatchWireMethod.input, badStruct))).toThrow();
  });
});
