import { randomInt } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { decodeRecord, decodeRecordWithProtobuf, type SourceRecord } from "./documents.js";

const record = (value: Uint8Array, headers: Record<string, string> = {}): SourceRecord => ({
  topic: "t_logs",
  partition: 1,
  offset: "42",
  value: Buffer.from(value),
  headers,
});

const timber = (content: Record<string, unknown> | undefined, timestamp = "2026-01-01T00:00:00Z", prefix = "app") =>
  toBinary(
    TimberSchema,
    create(TimberSchema, {
      context: { kafkaTopic: "k", kafkaPartition: 3, esIndexPrefix: prefix, appMaxTps: 10, disableAppTps: true },
      timestamp,
      ...(content === undefined ? {} : { content: content as never }),
    }),
  );

const strings = ["", "plain", 'q"uo\\te', "é ü 😀", "tab\there", "\u0000\u001f\u007f", "line\nbreak", "</script>"];
function randomValue(depth: number): unknown {
  switch (randomInt(depth > 2 ? 4 : 6)) {
    case 0:
      return strings[randomInt(strings.length)];
    case 1:
      return [0, -0, 1.5, -3, 2 ** 60, 1e-7, 123456789, Number.MAX_VALUE][randomInt(8)];
    case 2:
      return randomInt(2) === 0;
    case 3:
      return null;
    case 4:
      return Array.from({ length: randomInt(4) }, () => randomValue(depth + 1));
    default:
      return randomObject(depth + 1);
  }
}
function randomObject(depth: number): Record<string, unknown> {
  const keys = ["message", "level", "é", "a b", 'k"q', "@timestamp", "n", "x", "_id", "long_key_name"];
  const object: Record<string, unknown> = {};
  for (let i = randomInt(7); i > 0; i--) object[keys[randomInt(keys.length)] as string] = randomValue(depth);
  return object;
}

describe("decodeRecord() of plain Timbers", () => {
  it("gives the same documents as the protobuf decoder for 3000 random contents", () => {
    for (let i = 0; i < 3000; i++) {
      const content = i % 50 === 0 ? undefined : randomObject(0);
      const timestamp = i % 7 === 0 ? "" : "2026-01-01T00:00:00Z";
      const prefix = i % 97 === 0 ? "" : "app";
      const headers: Record<string, string> = i % 3 === 0 ? { "idempotency-key": `k${i}` } : {};
      const input = record(timber(content, timestamp, prefix), headers);
      const decoded = decodeRecord(input);
      expect(decoded).toEqual(decodeRecordWithProtobuf(input));
      // As bytes (what the pipeline asks for): the UTF-8 of the very same text.
      const asBytes = decodeRecord(input, { bytes: true });
      expect(asBytes.ok && asBytes.documents.map((doc) => ({ ...doc, json: doc.json.toString() }))).toEqual(
        decoded.ok && decoded.documents,
      );
      if (asBytes.ok) expect(Buffer.isBuffer(asBytes.documents[0]?.json)).toBe(true);
    }
  });
});

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

describe("decodeRecord() with wire-order content", () => {
  const context = len(1, len(4, text("shop")));
  const asRecord = (value: number[], headers: Record<string, string> = {}) => ({
    topic: "t",
    partition: 0,
    offset: "5",
    value: Buffer.from(value),
    headers,
  });

  it("keeps integer-like keys where the producer put them and appends @timestamp", () => {
    const struct = [...entry("msg", stringValue("hi")), ...entry("404", numberValue(1))];
    const decoded = decodeRecord(asRecord([...context, ...len(2, text("2026-01-01T00:00:00Z")), ...len(3, struct)]));
    expect(decoded.ok && decoded.documents[0]?.json).toBe('{"msg":"hi","404":1,"@timestamp":"2026-01-01T00:00:00Z"}');
  });

  it("collection items: wire order per item, @timestamp added to empty content, kept when present", () => {
    const items = [
      ...len(2, [...len(2, text("ts1")), ...len(3, [...entry("b", numberValue(1)), ...entry("7", numberValue(2))])]),
      ...len(2, len(2, text("ts2"))),
      ...len(2, [...len(2, text("ts3")), ...len(3, entry("@timestamp", stringValue("own")))]),
    ];
    const decoded = decodeRecord(asRecord([...context, ...items], { message_format: "TimberCollection" }));
    expect(decoded.ok && decoded.documents.map((d) => d.json)).toEqual([
      '{"b":1,"7":2,"@timestamp":"ts1"}',
      '{"@timestamp":"ts2"}',
      '{"@timestamp":"own"}',
    ]);
  });
});
