import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { TimberContextSchema } from "@barito-flow/proto";
import { TimberWriter } from "@barito-flow/proto/wire";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { decodeRecord, decodeRecordWithProtobuf, type SourceRecord } from "./documents.js";

const record = (value: Uint8Array, headers: Record<string, string> = {}): SourceRecord => ({
  topic: "t_logs",
  partition: 1,
  offset: "42",
  value: Buffer.from(value),
  headers,
});

// Records as the producer writes them (TimberWriter writes toBinary's bytes).
const writer = new TimberWriter();
const contexts = new Map(
  ["app", ""].map((prefix) => [
    prefix,
    toBinary(
      TimberContextSchema,
      create(TimberContextSchema, { kafkaTopic: "k", esIndexPrefix: prefix, appMaxTps: 10 }),
    ),
  ]),
);
const timber = (content: Record<string, unknown> | undefined, timestamp: string, prefix: string) =>
  writer.encode(contexts.get(prefix), timestamp, content as never);

// Contents built from the values that stress the JSON writer: escapes, non-ASCII, -0, large and tiny numbers, nesting.
const strings = ["", "plain", 'q"uo\\te', "é ü 😀", "tab\there", "\u0000\u001f\u007f", "line\nbreak", "</script>"];
const numbers = [0, -0, 1.5, -3, 2 ** 60, 1e-7, 123456789, Number.MAX_VALUE];
const keys = ["message", "level", "é", "a b", 'k"q', "@timestamp", "n", "x", "_id", "long_key_name"];
const { object: contentArbitrary } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...strings),
    fc.constantFrom(...numbers),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.constantFrom(...keys), tie("value"), { maxKeys: 6 }),
}));

describe("decodeRecord() of plain Timbers", () => {
  // fast-check prints the seed and the shrunk input of a failure: rerun it with { seed, path } in fc.assert's options.
  it("gives the same documents as the protobuf decoder for random contents, with the id the record's position or key gives", () => {
    fc.assert(
      fc.property(
        fc.option(contentArbitrary, { freq: 50 }),
        fc.constantFrom("", "2026-01-01T00:00:00Z"),
        fc.constantFrom("app", "app", "app", ""),
        fc.option(fc.constantFrom("k1", "order-7", "é"), { freq: 2 }),
        (content, timestamp, prefix, key) => {
          const headers: Record<string, string> = key === null ? {} : { "idempotency-key": key };
          const input = record(timber(content ?? undefined, timestamp, prefix), headers);
          const decoded = decodeRecord(input);
          expect(decoded).toEqual(decodeRecordWithProtobuf(input));
          if (!decoded.ok) {
            // The only plain Timber refused is one without an index prefix.
            expect(prefix).toBe("");
            return;
          }
          // The id by barito's rule, written out here rather than taken from documents.ts (both decoders share it).
          expect(decoded.documents.map((doc) => doc.id)).toEqual([key === null ? "t_logs-1-42" : `${key}-0`]);
          // As bytes (what the pipeline asks for): the UTF-8 of the very same text.
          const asBytes = decodeRecord(input, { bytes: true });
          expect(asBytes.ok && asBytes.documents.map((doc) => ({ ...doc, json: doc.json.toString() }))).toEqual(
            decoded.documents,
          );
          if (asBytes.ok) expect(Buffer.isBuffer(asBytes.documents[0]?.json)).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

/** A Timber whose content keys are in the order given (protobuf-es writes them in JavaScript object order). */
function inWireOrder(writer: BinaryWriter, timestamp: string, members: Array<[string, string | number]>): BinaryWriter {
  writer.tag(2, WireType.LengthDelimited).string(timestamp);
  if (members.length === 0) return writer;
  writer.tag(3, WireType.LengthDelimited).fork();
  for (const [key, value] of members) {
    writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(key);
    writer.tag(2, WireType.LengthDelimited).fork();
    if (typeof value === "number") writer.tag(2, WireType.Bit64).double(value);
    else writer.tag(3, WireType.LengthDelimited).string(value);
    writer.join().join();
  }
  return writer.join();
}

describe("decodeRecord() with wire-order content", () => {
  const withContext = () =>
    new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(contexts.get("app") as Uint8Array);
  const asRecord = (value: Uint8Array, headers: Record<string, string> = {}) => ({
    topic: "t",
    partition: 0,
    offset: "5",
    value: Buffer.from(value),
    headers,
  });

  it("keeps integer-like keys where the producer put them and appends @timestamp", () => {
    const bytes = inWireOrder(withContext(), "2026-01-01T00:00:00Z", [
      ["msg", "hi"],
      ["404", 1],
    ]).finish();
    const decoded = decodeRecord(asRecord(bytes));
    expect(decoded.ok && decoded.documents[0]?.json).toBe('{"msg":"hi","404":1,"@timestamp":"2026-01-01T00:00:00Z"}');
    // The protobuf decoder too (it reads the bytes again for such keys: the decoded object put "404" first).
    const reference = decodeRecordWithProtobuf(asRecord(bytes));
    expect(reference.ok && reference.documents[0]?.json).toBe(
      '{"msg":"hi","404":1,"@timestamp":"2026-01-01T00:00:00Z"}',
    );
  });

  it("collection items: wire order per item, @timestamp added to empty content, kept when present", () => {
    const collection = withContext();
    const items: Array<[string, Array<[string, string | number]>]> = [
      [
        "ts1",
        [
          ["b", 1],
          ["7", 2],
        ],
      ],
      ["ts2", []],
      ["ts3", [["@timestamp", "own"]]],
    ];
    for (const [timestamp, members] of items) {
      inWireOrder(collection.tag(2, WireType.LengthDelimited).fork(), timestamp, members).join();
    }
    const decoded = decodeRecord(asRecord(collection.finish(), { message_format: "TimberCollection" }));
    expect(decoded.ok && decoded.documents.map((d) => d.json)).toEqual([
      '{"b":1,"7":2,"@timestamp":"ts1"}',
      '{"@timestamp":"ts2"}',
      '{"@timestamp":"own"}',
    ]);
  });
});
