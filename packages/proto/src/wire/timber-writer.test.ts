import { create, toBinary } from "@bufbuild/protobuf";
import { TimberContextSchema, TimberSchema } from "../index.js";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { TimberWriter } from "./timber-writer.js";

const writer = new TimberWriter();
const encodeTimber = writer.encode.bind(writer);

const context = create(TimberContextSchema, {
  kafkaTopic: "shop",
  kafkaPartition: 3,
  esIndexPrefix: "shop",
  appMaxTps: 10,
});
const contextBytes = toBinary(TimberContextSchema, context);

describe("encodeTimber()", () => {
  it("writes exactly the bytes of protobuf-es toBinary for any JSON content", () => {
    const content = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 12 });
    fc.assert(
      fc.property(content, fc.string(), fc.boolean(), (json, timestamp, withContext) => {
        // JSON cannot carry -0; the producer only ever sees parsed JSON.
        const parsed = JSON.parse(JSON.stringify(json));
        const expected = toBinary(
          TimberSchema,
          create(TimberSchema, { context: withContext ? context : undefined, timestamp, content: parsed }),
        );
        expect(Buffer.from(encodeTimber(withContext ? contextBytes : undefined, timestamp, parsed))).toEqual(
          Buffer.from(expected),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("writes the same bytes for short and long text in any script, lone surrogates included", () => {
    const text = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: "binary-ascii" }));
    fc.assert(
      fc.property(fc.dictionary(text, text, { maxKeys: 6 }), text, (json, timestamp) => {
        const expected = toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content: json }));
        expect(Buffer.from(encodeTimber(contextBytes, timestamp, json))).toEqual(Buffer.from(expected));
      }),
      { numRuns: 1000 },
    );
  });

  it("handles multi-byte text, long strings and empty content", () => {
    const content = {
      ключ: "значение ✓",
      long: "x".repeat(300_000),
      nested: { list: [1, "two", null, true, { a: [] }] },
      empty: {},
    };
    expect(Buffer.from(encodeTimber(contextBytes, "2026-01-01T00:00:00Z", content))).toEqual(
      Buffer.from(
        toBinary(TimberSchema, create(TimberSchema, { context, timestamp: "2026-01-01T00:00:00Z", content })),
      ),
    );
    expect(Buffer.from(encodeTimber(undefined, "", {}))).toEqual(
      Buffer.from(toBinary(TimberSchema, create(TimberSchema, { content: {} }))),
    );
  });
});
