import { create, fromBinary, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { type TimberCollection, TimberCollectionSchema } from "../index.js";
import { WireBytesSchema } from "./collection-request.js";
import { TimberReader } from "./timber-reader.js";
import { WireContentTimber } from "./wire-content.js";

const reader = new TimberReader();
const read = (bytes: Uint8Array) => reader.readCollectionRequest(fromBinary(WireBytesSchema, bytes));
const request = (contents: JsonObject[], context = { kafkaTopic: "shop", kafkaPartition: -1, esIndexPrefix: "shop" }) =>
  toBinary(
    TimberCollectionSchema,
    create(TimberCollectionSchema, { context, items: contents.map((content) => ({ content })) }),
  );
const wireItems = (bytes: Uint8Array) =>
  read(bytes).items.filter((item) => WireContentTimber.wireOf(item) !== undefined);

describe("TimberReader.readCollectionRequest()", () => {
  it("reads the collection protobuf-es reads, plain items as their content's own bytes", () => {
    const json = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }) as fc.Arbitrary<JsonObject>;
    fc.assert(
      fc.property(fc.array(json, { maxLength: 4 }), (contents) => {
        const bytes = request(contents.map((content) => JSON.parse(JSON.stringify(content)) as JsonObject));
        const collection = read(bytes);
        const reference = fromBinary(TimberCollectionSchema, bytes);
        expect(collection.context).toEqual(reference.context);
        expect(collection.items.map((item) => item.content)).toEqual(reference.items.map((item) => item.content));
        for (const item of wireItems(bytes)) {
          const wire = WireContentTimber.wireOf(item) as Uint8Array;
          expect(Buffer.from(wire)).toEqual(Buffer.from(toBinary(StructSchema, fromBinary(StructSchema, wire))));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps the usual log on the copy path and leaves NaN, infinities and ±2^63 to fromBinary", () => {
    expect(wireItems(request([{ message: "GET /x", status: 200, tags: ["a", null, true] }]))).toHaveLength(1);
    for (const odd of [Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 63, -(2 ** 63)]) {
      const bytes = request([{ n: odd }]);
      expect(wireItems(bytes)).toHaveLength(0);
      expect(read(bytes).items[0]?.content).toEqual({ n: odd });
    }
  });

  it("leaves non-canonical bytes, unknown fields and a repeated context to fromBinary, with its result", () => {
    const plain = request([{ a: "b" }]);
    const contextLength = plain[1] as number;
    const item = plain.subarray(2 + contextLength);
    const overlong = Buffer.concat([
      plain.subarray(0, 2 + contextLength),
      Buffer.from([0x12, 0x80 | (item[1] as number), 0x00]), // the item length as a two-byte varint
      item.subarray(2),
    ]);
    const unknown = Buffer.concat([plain, Buffer.from([0x18, 0x01])]);
    const twice = Buffer.concat([plain.subarray(0, 2 + contextLength), plain]);
    for (const bytes of [overlong, unknown, twice]) {
      expect(wireItems(bytes)).toHaveLength(0);
      expect(read(bytes)).toEqual(fromBinary(TimberCollectionSchema, bytes));
    }
  });

  it("throws a parse error for a truncated request wherever protobuf-es does, at every length", () => {
    const outcome = (decode: () => TimberCollection) => {
      try {
        const { context, items } = decode();
        return { context, contents: items.map((item) => item.content) };
      } catch (err) {
        return `error: ${err instanceof Error && err.message !== "" ? "with a message" : String(err)}`;
      }
    };
    const bytes = request([{ message: "hello", n: 1 }, { é: ["x"] }]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      expect(outcome(() => read(truncated))).toEqual(outcome(() => fromBinary(TimberCollectionSchema, truncated)));
    }
  });
});
