import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { TimberCollectionSchema, TimberSchema } from "../index.js";
import { TimberReader } from "./timber-reader.js";

const reader = new TimberReader();
const timberContentJson = (bytes: Uint8Array) => reader.contentJson(bytes);
const collectionItemBytes = (bytes: Uint8Array) => reader.collectionItems(bytes);

const encodeTimber = (content: Record<string, unknown>) =>
  toBinary(TimberSchema, create(TimberSchema, { timestamp: "t", content: content as never }));

// Minimal protobuf writer for hand-made wire orders (protobuf-es writes keys in JavaScript object order).
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const len = (field: number, body: number[]) => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const text = (s: string) => [...new TextEncoder().encode(s)];
const stringValue = (s: string) => len(3, text(s));
const numberValue = (n: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, n, true);
  return [(2 << 3) | 1, ...bytes];
};
const entry = (key: string, value: number[]) => len(1, [...len(1, text(key)), ...len(2, value)]);

describe("TimberReader.contentJson()", () => {
  it("keeps the wire order of keys, integer-like ones included", () => {
    const struct = [
      ...entry("z", stringValue("last letter")),
      ...entry("10", numberValue(1.5)),
      ...entry("2", len(5, entry("b", numberValue(2)).concat(entry("1", stringValue("x"))))),
      ...entry("a", len(6, [...len(1, numberValue(1)), ...len(1, stringValue("s"))])),
    ];
    const timber = Uint8Array.from([...len(2, text("2026-01-01T00:00:00Z")), ...len(3, struct)]);
    expect(timberContentJson(timber)).toBe('{"z":"last letter","10":1.5,"2":{"b":2,"1":"x"},"a":[1,"s"]}');
    // What decoding into an object gives, for contrast.
    expect(JSON.stringify(fromBinary(TimberSchema, timber).content)).toBe(
      '{"2":{"1":"x","b":2},"10":1.5,"z":"last letter","a":[1,"s"]}',
    );
  });

  it("matches JSON.stringify of the decoded content for ordinary documents", () => {
    const contents = [
      {},
      { message: "hi", n: 12.5, neg: -3, big: 2 ** 60, tiny: 1e-7, ok: true, no: false, nothing: null },
      { nested: { deep: { list: [1, "two", { three: [null, true] }, []] } }, empty: {}, s: 'q"uo\\te é 😀 \n' },
    ];
    for (const content of contents) {
      const bytes = encodeTimber(content);
      expect(timberContentJson(bytes)).toBe(JSON.stringify(fromBinary(TimberSchema, bytes).content));
    }
  });

  it("a repeated key keeps its first position and takes the last value; NaN and infinities become null", () => {
    const struct = [
      ...entry("a", numberValue(1)),
      ...entry("b", numberValue(Number.NaN)),
      ...entry("a", numberValue(2)),
      ...entry("c", numberValue(Number.POSITIVE_INFINITY)),
    ];
    expect(timberContentJson(Uint8Array.from(len(3, struct)))).toBe('{"a":2,"b":null,"c":null}');
  });

  it("gives {} without content and undefined on truncated or odd input", () => {
    expect(timberContentJson(Uint8Array.from(len(2, text("ts"))))).toBe("{}");
    const bytes = encodeTimber({ message: "hello" });
    expect(timberContentJson(bytes.subarray(0, bytes.length - 2))).toBeUndefined();
    expect(timberContentJson(Uint8Array.from([(9 << 3) | 7]))).toBeUndefined();
    const twice = Uint8Array.from([...len(3, entry("a", numberValue(1))), ...len(3, entry("b", numberValue(2)))]);
    expect(timberContentJson(twice)).toBeUndefined();
  });

  it("reads a Buffer slice of a larger pool at the right offset", () => {
    const bytes = encodeTimber({ x: 3.25, y: "ok" });
    const pool = Buffer.alloc(bytes.length + 7);
    pool.set(bytes, 7);
    expect(timberContentJson(pool.subarray(7))).toBe('{"x":3.25,"y":"ok"}');
  });
});

describe("TimberReader.collectionItems()", () => {
  it("returns each item's encoding, in order", () => {
    const collection = toBinary(
      TimberCollectionSchema,
      create(TimberCollectionSchema, {
        context: { esIndexPrefix: "p" },
        items: [create(TimberSchema, { content: { n: 1 } }), create(TimberSchema, { content: { n: 2 } })],
      }),
    );
    const items = collectionItemBytes(collection);
    expect(items?.map((item) => timberContentJson(item))).toEqual(['{"n":1}', '{"n":2}']);
    expect(collectionItemBytes(collection.subarray(0, collection.length - 1))).toBeUndefined();
  });
});
