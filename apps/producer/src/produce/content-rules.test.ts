import { create, fromBinary, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema } from "@barito-flow/proto";
import { TimberWriter, WireContentTimber } from "@barito-flow/proto/wire";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { collectionFromWire, produceBatchWireMethod } from "../transport/grpc-wire.js";
import { contentViolations } from "./content-rules.js";

const nest = (levels: number, leaf: unknown, wrap: (inner: unknown) => unknown) => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
};
/** `levels` objects, the content being the first. */
const objects = (levels: number) => nest(levels, 1, (inner) => ({ d: inner })) as JsonObject;
const wide = (n: number, value: unknown) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`w${i}`, value])) as JsonObject;

// Each row was sent to OpenSearch 2.19 (a new index, default settings): "refused" rows were refused with the reason
// noted, the others indexed.
const cases: Array<[string, JsonObject, string | undefined]> = [
  ["an empty key", { "": 1 }, 'content[""]'],
  ["a key of dots", { "..": 1 }, 'content[".."]'],
  ["a leading dot", { ".a": 1 }, 'content[".a"]'],
  ["a double dot", { "a..b": 1 }, 'content["a..b"]'],
  ["a trailing dot (mapped as another name)", { "a.": 1 }, 'content["a."]'],
  ["a nested empty key", { a: { "": 1 } }, 'content.a[""]'],
  ["a whitespace object name", { " ": { a: 1 } }, 'content[" "]'],
  ["a whitespace part of a path", { "a. ": 1 }, 'content["a. "]'],
  ["a metadata field", { _id: "x" }, "content._id"],
  ["a dotted metadata field", { "_source.x": 1 }, 'content["_source.x"]'],
  ["a value and an object at one path", { q: 1, "q.r": 1 }, 'content["q.r"]'],
  ["infinity (1e400 as JSON.parse reads it)", { n: Number.POSITIVE_INFINITY }, "content.n"],
  ["NaN in an array", { n: [1, Number.NaN] }, "content.n[1]"],
  ["a number beyond float", { n: 1e39 }, "content.n"],
  ["an integer beyond long", { n: 1e20 }, "content.n"],
  ["21 levels of objects", objects(21), undefined],
  ["21 nested arrays", { x: nest(21, 1, (inner) => [inner]) as never }, undefined],
  ["a dotted path 21 levels deep", { [`a${".b".repeat(20)}`]: 1 }, undefined],
  ["1000 mapped fields and @timestamp", wide(500, "v"), "content"],
  ["1000 empty objects and @timestamp", wide(1000, {}), "content"],
  ["a whitespace leaf name", { x: { " ": 1 } }, 'content.x[" "]'],
];
const accepted: Array<[string, JsonObject]> = [
  ["20 levels of objects", objects(20)],
  ["20 nested arrays", { x: nest(20, 1, (inner) => [inner]) as never }],
  ["999 fields and @timestamp", wide(999, 1)],
  ["499 strings (two fields each) and @timestamp", wide(499, "v")],
  [
    "1100 nulls and empty arrays",
    { ...wide(600, null), ...Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`e${i}`, []])) },
  ],
  ["a metadata name below the top", { o: { _id: "1" } }],
  ["dotted paths that merge", { "a.b": 1, a: { c: 2 } }],
  ["a float at its limit", { n: 3.4e38 }],
  ["an integer beyond long with an exponent (a float)", { n: 1e21 }],
  ["prototype names", { __proto__: 1, constructor: 2, hasOwnProperty: 3 } as JsonObject],
  ["NUL, a lone surrogate, _type", { "\u0000": 1, "\ud800": 2, _type: 3, "a\u0000b": "\u0000" }],
  ["ECS-style dotted keys", { "log.level": "info", "http.response.status_code": 200, "service.name": "x" }],
];

describe("contentViolations()", () => {
  it.each(cases)("refuses %s", (_, content, field) => {
    const violations = contentViolations(content, "content");
    expect(violations.length).toBeGreaterThan(0);
    if (field !== undefined) expect(violations[0]?.field).toBe(field);
  });

  it.each(accepted)("accepts %s", (_, content) => {
    expect(contentViolations(content, "content")).toEqual([]);
  });

  it("names the paths of a batch item", () => {
    expect(contentViolations({ a: [{ "": 1 }] }, "items[3].content")).toEqual([
      { field: 'items[3].content.a[0][""]', reason: expect.stringContaining("empty field name") },
    ]);
  });
});

// The encoders only screen for the content the rules concern; a screen that let a violation through would index it.
const edgeKey = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("", ".", "a.", ".a", "a..b", "a.b", "a.b.c", "a", " ", "a. b", "_id", "_id.x", "_x", "\u3000", "\t"),
);
const edgeValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(1, -1.5, 1e20, -(2 ** 63), 1e39, 3.4e38, "s", true, null),
    fc.double(),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(edgeKey, tie("value"), { maxKeys: 4 }),
  ),
})).value;
// Keys whose dotted paths overlap: a value and an object at one field when they meet in one object.
const overlapping = fc.dictionary(fc.constantFrom("a", "a.b", "a.b.c", "a.c", "b", "b.a"), edgeValue, { maxKeys: 4 });
const edgeContent = fc.oneof(
  fc.dictionary(edgeKey, edgeValue, { maxKeys: 6 }),
  overlapping,
  overlapping.map((inner) => ({ x: [inner, { a: 1 }] })),
  fc
    .tuple(fc.integer({ min: 15, max: 22 }), fc.constantFrom("a.b", "x"))
    .map(([levels, key]) => objects(levels) && (nest(levels, 1, (inner) => ({ [key]: inner })) as JsonObject)),
  fc.integer({ min: 490, max: 505 }).map((n) => wide(n, "v")),
) as fc.Arbitrary<JsonObject>;

describe("the encoders' screens", () => {
  const writer = new TimberWriter();

  it("flag every content that breaks a rule (JSON encoder and gRPC wire reader)", () => {
    fc.assert(
      fc.property(edgeContent, (generated) => {
        const content = JSON.parse(JSON.stringify(generated)) as JsonObject; // as a REST body arrives
        const refused = contentViolations(content, "content").length > 0;
        writer.encode(undefined, "", content);
        if (refused) expect(writer.needsCheck).toBe(true);
        const request = toBinary(TimberCollectionSchema, create(TimberCollectionSchema, { items: [{ content }] }));
        const wire = collectionFromWire(fromBinary(produceBatchWireMethod.input, request)).items[0];
        if (refused) expect(wire && WireContentTimber.wireOf(wire)).toBeUndefined();
      }),
      { numRuns: 3_000 },
    );
  });

  it("leave the usual log shapes on the fast path", () => {
    const log = {
      message: "GET /x 200",
      level: "info",
      duration_ms: 12.5,
      tags: ["a"],
      // ECS style: dotted keys sharing their first parts merge into objects, they cannot collide.
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "service.name": "shop",
    };
    writer.encode(undefined, "", log);
    expect(writer.needsCheck).toBe(false);
    const request = toBinary(TimberCollectionSchema, create(TimberCollectionSchema, { items: [{ content: log }] }));
    const item = collectionFromWire(fromBinary(produceBatchWireMethod.input, request)).items[0];
    expect(item && WireContentTimber.wireOf(item)).toBeDefined();
  });
});
