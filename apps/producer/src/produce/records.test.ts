// buildRecords: the records the producer writes, read back with protobuf-es (the reference decoder), header by header.
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { TimberCollectionSchema, TimberContextSchema, TimberSchema } from "@barito-flow/proto";
import { WireContentTimber } from "@barito-flow/proto/wire";
import { describe, expect, it } from "@jest/globals";
import { ProduceError } from "./produce-error.js";
import { baritoTimestamp, buildRecords } from "./records.js";

const context = create(TimberContextSchema, { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10 });
const receivedAt = new Date("2026-03-04T05:06:07.890Z");
const fieldOf = (index: number) => `items[${index}]`;
const items = (...contents: Array<Record<string, unknown> | undefined>) =>
  contents.map((content) => create(TimberSchema, { timestamp: "client's own", content: content as never }));

/** Content nested deeper than any encoder's stack. */
function deeplyNested(depth: number): Record<string, unknown> {
  let content: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) content = { a: content };
  return content;
}

const thrown = (build: () => unknown): ProduceError => {
  try {
    build();
  } catch (err) {
    if (err instanceof ProduceError) return err;
    throw err;
  }
  throw new Error("buildRecords accepted it");
};

describe("baritoTimestamp()", () => {
  it("is the receive time in UTC, RFC 3339 to the second (barito-flow's format)", () => {
    expect(baritoTimestamp(receivedAt)).toBe("2026-03-04T05:06:07Z");
    expect(baritoTimestamp(new Date("1999-12-31T23:59:59.999Z"))).toBe("1999-12-31T23:59:59Z");
  });
});

describe("buildRecords() as Timber (one record per log)", () => {
  it("writes each log with the request's context and the receive time, numbering the items under a key", () => {
    const built = buildRecords(
      items({ message: "a" }, { message: "b", n: 2 }),
      context,
      "Timber",
      receivedAt,
      "k1",
      fieldOf,
    );
    expect(built.map((b) => b.field)).toEqual(["items[0]", "items[1]"]);
    expect(built.map((b) => b.record.headers)).toEqual([
      { "idempotency-key": "k1", "idempotency-item": "0" },
      { "idempotency-key": "k1", "idempotency-item": "1" },
    ]);
    const decoded = built.map((b) => fromBinary(TimberSchema, b.record.value as Uint8Array));
    expect(decoded.map((timber) => toJson(TimberSchema, timber))).toEqual([
      {
        context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10 },
        timestamp: "2026-03-04T05:06:07Z",
        content: { message: "a" },
      },
      {
        context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10 },
        timestamp: "2026-03-04T05:06:07Z",
        content: { message: "b", n: 2 },
      },
    ]);
    // Byte for byte what protobuf-es writes (barito-flow's consumers read these).
    expect(Buffer.from(built[1]?.record.value as Uint8Array)).toEqual(
      Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, { context, timestamp: "2026-03-04T05:06:07Z", content: { message: "b", n: 2 } }),
        ),
      ),
    );
  });

  it("writes no headers without an idempotency key, and a log without content as a Timber without content", () => {
    const built = buildRecords(items(undefined), context, "Timber", receivedAt, undefined, () => "content");
    expect(built).toHaveLength(1);
    expect(built[0]?.field).toBe("content");
    expect(built[0]?.record.headers).toBeUndefined();
    expect(fromBinary(TimberSchema, built[0]?.record.value as Uint8Array).content).toBeUndefined();
  });

  it("copies content kept as its wire bytes without decoding it", () => {
    const struct = toBinary(StructSchema, { $typeName: "google.protobuf.Struct", fields: {} });
    const wire = new WireContentTimber(struct);
    const built = buildRecords([wire], context, "Timber", receivedAt, undefined, fieldOf);
    const plain = buildRecords(items({}), context, "Timber", receivedAt, undefined, fieldOf);
    expect(Buffer.from(built[0]?.record.value as Uint8Array)).toEqual(
      Buffer.from(plain[0]?.record.value as Uint8Array),
    );
  });

  it("takes content the screen flags for the exact check when the check finds nothing wrong", () => {
    // A key starting with a space makes the writer ask for the exact check; OpenSearch indexes it as it is.
    const built = buildRecords(items({ " a": 1 }), context, "Timber", receivedAt, undefined, fieldOf);
    expect(toJson(TimberSchema, fromBinary(TimberSchema, built[0]?.record.value as Uint8Array)).content).toEqual({
      " a": 1,
    });
  });

  it("refuses content OpenSearch would refuse, and content nested too deeply, naming the log's field", () => {
    const refused = thrown(() =>
      buildRecords(items({ ok: 1 }, { "": "empty key" }), context, "Timber", receivedAt, undefined, fieldOf),
    );
    expect(refused.code).toBe("INVALID_ARGUMENT");
    expect(refused.details[0]?.field).toBe('items[1].content[""]');
    expect(refused.details[0]?.reason).toMatch(/empty field name/);
    const single = thrown(() =>
      buildRecords(items({ "": 1 }), context, "Timber", receivedAt, undefined, () => "content"),
    );
    expect(single.details[0]?.field).toBe('content[""]');
    const deep = thrown(() =>
      buildRecords(items({ ok: 1 }, deeplyNested(100_000)), context, "Timber", receivedAt, undefined, fieldOf),
    );
    expect(deep.details).toEqual([{ field: "items[1]", reason: "content nested too deeply" }]);
  });
});

describe("buildRecords() as TimberCollection (one record per request)", () => {
  it("writes one record with the message_format header, the key only (the consumer numbers the items)", () => {
    const built = buildRecords(items({ n: 1 }, { n: 2 }), context, "TimberCollection", receivedAt, "k2", fieldOf);
    expect(built).toHaveLength(1);
    expect(built[0]?.field).toBe("items");
    expect(built[0]?.record.headers).toEqual({ message_format: "TimberCollection", "idempotency-key": "k2" });
    const collection = fromBinary(TimberCollectionSchema, built[0]?.record.value as Uint8Array);
    expect(toJson(TimberCollectionSchema, collection)).toEqual({
      context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10 },
      items: [
        { timestamp: "2026-03-04T05:06:07Z", content: { n: 1 } },
        { timestamp: "2026-03-04T05:06:07Z", content: { n: 2 } },
      ],
    });
    const unkeyed = buildRecords(items({ n: 1 }), context, "TimberCollection", receivedAt, undefined, fieldOf);
    // Not even an undefined key: a header that exists is written.
    expect(Object.keys(unkeyed[0]?.record.headers ?? {})).toEqual(["message_format"]);
  });

  it("checks every item exactly, deep nesting included (the depth rule answers before any encoder could overflow)", () => {
    const refused = thrown(() =>
      buildRecords(items({ ok: 1 }, undefined, { "": 1 }), context, "TimberCollection", receivedAt, undefined, fieldOf),
    );
    expect(refused.details.map((d) => d.field)).toEqual(['items[2].content[""]']);
    // At most 20 violations in the answer, however many items break a rule.
    const many = thrown(() =>
      buildRecords(
        items(...Array.from({ length: 30 }, () => ({ "": 1 }))),
        context,
        "TimberCollection",
        receivedAt,
        undefined,
        fieldOf,
      ),
    );
    expect(many.details).toHaveLength(20);
    expect(many.details[19]?.field).toBe('items[19].content[""]');
    const deep = thrown(() =>
      buildRecords(items(deeplyNested(100_000)), context, "TimberCollection", receivedAt, undefined, fieldOf),
    );
    expect(deep.details).toEqual([
      {
        field: `items[0].content${".a".repeat(20)}`,
        reason: "nested deeper than 20 levels of objects (index.mapping.depth.limit)",
      },
    ]);
  });
});
