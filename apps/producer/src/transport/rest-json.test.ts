import { fromJson, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { plainCollectionFromJson, plainTimberFromJson } from "./rest-json.js";

const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const context = fc.record(
  {
    kafka_topic: fc.string(),
    kafkaPartition: int32,
    kafka_replication_factor: int32,
    es_index_prefix: fc.string(),
    es_document_type: fc.string(),
    app_max_tps: int32,
    appSecret: fc.string(),
    disable_app_tps: fc.boolean(),
    app_group_max_tps: int32,
  },
  { requiredKeys: [] },
);
const content = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }));

describe("plain REST bodies", () => {
  it("give exactly the message fromJson gives (same protobuf bytes)", () => {
    fc.assert(
      fc.property(context, fc.array(content, { maxLength: 5 }), (ctx, contents) => {
        const body = JSON.parse(JSON.stringify({ context: ctx, items: contents.map((c) => ({ content: c })) }));
        const plain = plainCollectionFromJson(body);
        expect(plain).toBeDefined();
        const reference = fromJson(TimberCollectionSchema, body as JsonValue);
        expect(Buffer.from(toBinary(TimberCollectionSchema, plain as never))).toEqual(
          Buffer.from(toBinary(TimberCollectionSchema, reference)),
        );
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(context, content, (ctx, c) => {
        const body = JSON.parse(JSON.stringify({ context: ctx, content: c }));
        const plain = plainTimberFromJson(body);
        expect(plain).toBeDefined();
        expect(Buffer.from(toBinary(TimberSchema, plain as never))).toEqual(
          Buffer.from(toBinary(TimberSchema, fromJson(TimberSchema, body as JsonValue))),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("leave everything unusual to fromJson (its error messages name the field)", () => {
    const ctx = { kafka_topic: "a", es_index_prefix: "a", app_max_tps: 1 };
    for (const body of [
      { context: ctx },
      { context: ctx, items: [{ content: {} }], extra: 1 },
      { context: { ...ctx, unknown: 1 }, items: [] },
      { context: { ...ctx, app_max_tps: "5" }, items: [] },
      { context: { ...ctx, app_max_tps: 1.5 }, items: [] },
      { context: { ...ctx, app_max_tps: 2 ** 31 }, items: [] },
      { context: { ...ctx, kafkaTopic: "b" }, items: [] },
      { context: { ...ctx, kafka_topic: null }, items: [] },
      { context: null, items: [] },
      { context: ctx, items: {} },
      { context: ctx, items: [{ content: {}, timestamp: "x" }] },
      { context: ctx, items: [{ content: [] }] },
      { context: ctx, items: [{ content: null }] },
      { context: ctx, items: [{}] },
      { context: ctx, items: [null] },
      JSON.parse('{"context":{"kafka_topic":"a"},"items":[],"__proto__":{}}'),
    ]) {
      expect(plainCollectionFromJson(body as Record<string, unknown>)).toBeUndefined();
    }
    for (const body of [
      { context: ctx },
      { context: ctx, content: {}, timestamp: "x" },
      { context: ctx, content: "text" },
      { content: {} },
    ]) {
      expect(plainTimberFromJson(body as Record<string, unknown>)).toBeUndefined();
    }
  });
});
