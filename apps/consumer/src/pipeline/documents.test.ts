import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { createDailyIndexer, dailyIndex, decodeRecord, decodeRecordWithProtobuf } from "./documents.js";

const context = { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 1, appSecret: "shop-secret" };
const record = (value: Uint8Array | null, headers: Record<string, string> = {}) => ({
  topic: "shop_logs",
  partition: 2,
  offset: "41",
  value: value ? Buffer.from(value) : null,
  headers,
});

describe("decodeRecord()", () => {
  it("keeps the content's key order and numbers and appends @timestamp from the record", () => {
    const value = toBinary(
      TimberSchema,
      create(TimberSchema, { context, timestamp: "2026-01-01T00:00:00Z", content: { z: 1, a: 1.5, m: { y: true } } }),
    );
    const decoded = decodeRecord(record(value));
    expect(decoded).toEqual({
      ok: true,
      documents: [
        {
          itemIndex: 0,
          id: "shop_logs-2-41",
          indexPrefix: "shop",
          appSecret: "shop-secret",
          timestamp: "2026-01-01T00:00:00Z",
          json: '{"z":1,"a":1.5,"m":{"y":true},"@timestamp":"2026-01-01T00:00:00Z"}',
        },
      ],
    });
  });

  it("applies the collection's context to every item and numbers the ids; an idempotency key wins", () => {
    const value = toBinary(
      TimberCollectionSchema,
      create(TimberCollectionSchema, {
        context,
        items: [
          { timestamp: "t", content: { n: 1 } },
          { timestamp: "t", content: { n: 2 } },
        ],
      }),
    );
    const plain = decodeRecord(record(value, { message_format: "TimberCollection" }));
    expect(plain.ok && plain.documents.map((d) => [d.id, d.indexPrefix, d.appSecret])).toEqual([
      ["shop_logs-2-41-0", "shop", "shop-secret"],
      ["shop_logs-2-41-1", "shop", "shop-secret"],
    ]);
    const keyed = decodeRecord(record(value, { message_format: "TimberCollection", "idempotency-key": "k" }));
    expect(keyed.ok && keyed.documents.map((d) => d.id)).toEqual(["k-0", "k-1"]);
    // Over OpenSearch's 512-byte id limit: hashed, still one id per key and item.
    const long = "k".repeat(600);
    const hashed = decodeRecord(record(value, { message_format: "TimberCollection", "idempotency-key": long }));
    const ids = hashed.ok ? hashed.documents.map((d) => d.id) : [];
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^sha256-[0-9a-f]{64}$/);
    const again = decodeRecord(record(value, { message_format: "TimberCollection", "idempotency-key": long }));
    expect(again.ok && again.documents.map((d) => d.id)).toEqual(ids);
  });

  it("ids a single record by its idempotency key and the item number the producer gave it", () => {
    const value = toBinary(TimberSchema, create(TimberSchema, { context, timestamp: "t", content: { a: 1 } }));
    const idOf = (decode: typeof decodeRecord, headers: Record<string, string>) => {
      const decoded = decode(record(value, headers));
      return decoded.ok ? decoded.documents.map((d) => d.id) : decoded;
    };
    // The wire reader and the protobuf decoder alike: the 4th log of a /produce_batch is its own document.
    for (const decode of [decodeRecord, decodeRecordWithProtobuf]) {
      expect(idOf(decode, { "idempotency-key": "req-9", "idempotency-item": "3" })).toEqual(["req-9-3"]);
      expect(idOf(decode, { "idempotency-key": "req-9", "idempotency-item": "0" })).toEqual(["req-9-0"]);
      // A key without an item number (a producer older than the header): item 0.
      expect(idOf(decode, { "idempotency-key": "req-9" })).toEqual(["req-9-0"]);
      // Past 512 bytes: the SHA-256 of the same "<key>-<item>" text.
      const long = "k".repeat(600);
      const sha = (text: string) => `sha256-${createHash("sha256").update(text).digest("hex")}`;
      expect(idOf(decode, { "idempotency-key": long, "idempotency-item": "3" })).toEqual([sha(`${long}-3`)]);
      // Exactly 512 bytes is kept as it is.
      const edge = "e".repeat(510);
      expect(idOf(decode, { "idempotency-key": edge, "idempotency-item": "7" })).toEqual([`${edge}-7`]);
    }
  });

  it("both decoders: an empty value, garbage, and a Timber without context, each with its reason", () => {
    for (const decode of [decodeRecord, decodeRecordWithProtobuf]) {
      for (const empty of [null, new Uint8Array(0)])
        expect(decode(record(empty))).toEqual({ ok: false, errorType: "empty_record", reason: "record has no value" });
      const garbage = decode(record(Buffer.from([0xff, 0xff, 0xff])));
      expect(garbage).toMatchObject({ ok: false, errorType: "decode_error" });
      expect(!garbage.ok && garbage.reason).toMatch(/^not a barito Timber\/TimberCollection: ./);
      const noContext = toBinary(TimberSchema, create(TimberSchema, { timestamp: "t", content: { a: 1 } }));
      expect(decode(record(noContext))).toEqual({
        ok: false,
        errorType: "missing_index_prefix",
        reason: "item 0: context.es_index_prefix is empty",
      });
    }
  });

  it("ids records of several topics and partitions in any order by their own position", () => {
    const value = toBinary(TimberSchema, create(TimberSchema, { context, timestamp: "t", content: { a: 1 } }));
    const at = (topic: string, partition: number, offset: string) => ({ ...record(value), topic, partition, offset });
    const ids = [
      at("a_logs", 1, "5"),
      at("a_logs", 2, "5"),
      at("b_logs", 2, "6"),
      at("a_logs", 2, "7"),
      at("a_logs", 1, "8"),
    ]
      .map((r) => decodeRecord(r))
      .map((decoded) => (decoded.ok ? decoded.documents[0]?.id : undefined));
    expect(ids).toEqual(["a_logs-1-5", "a_logs-2-5", "b_logs-2-6", "a_logs-2-7", "a_logs-1-8"]);
  });

  it("reports undecodable, empty and prefix-less records instead of throwing", () => {
    expect(decodeRecord(record(Buffer.from([0xff, 0xff, 0xff])))).toMatchObject({
      ok: false,
      errorType: "decode_error",
    });
    expect(decodeRecord(record(null))).toMatchObject({ ok: false, errorType: "empty_record" });
    const noPrefix = toBinary(TimberSchema, create(TimberSchema, { context: { kafkaTopic: "x" }, content: {} }));
    expect(decodeRecord(record(noPrefix))).toMatchObject({ ok: false, errorType: "missing_index_prefix" });
  });
});

describe("dailyIndex()", () => {
  const now = new Date("2030-12-31T23:59:59Z");
  it("uses the UTC date of the timestamp, or processing time when asked or unparsable", () => {
    expect(dailyIndex("app", "2026-03-04T23:30:00-02:00", false, now)).toBe("app-2026.03.05");
    expect(dailyIndex("app", "2026-03-04T01:00:00Z", true, now)).toBe("app-2030.12.31");
    expect(dailyIndex("app", "yesterday-ish", false, now)).toBe("app-2030.12.31");
    expect(dailyIndex("p", "2026-01-09T00:00:00Z", false, now)).toBe("p-2026.01.09");
    expect(dailyIndex("p", "2026-10-19T00:00:00Z", false, now)).toBe("p-2026.10.19");
  });
});

describe("createDailyIndexer()", () => {
  it("names the UTC day of the timestamp across day boundaries, prefixes and time zones", () => {
    const now = new Date("2030-12-31T23:59:59Z");
    const index = createDailyIndexer(false, () => now);
    // Expected names written out (not from dailyIndex()): the cache must not carry a day over to the next one.
    const cases: Array<[string, string, string]> = [
      ["app", "2026-03-04T00:00:00Z", "app-2026.03.04"],
      ["app", "2026-03-04T23:59:59.999Z", "app-2026.03.04"],
      ["app", "2026-03-05T00:00:00Z", "app-2026.03.05"],
      ["app", "2026-03-04T23:30:00-02:00", "app-2026.03.05"],
      ["other", "2026-03-04T23:30:00-02:00", "other-2026.03.05"],
      ["app", "2026-03-04T23:30:00-02:00", "app-2026.03.05"],
      ["other", "2026-03-04T12:00:00Z", "other-2026.03.04"],
      ["app", "1969-12-31T23:00:00Z", "app-1969.12.31"],
      ["app", "1970-01-01T00:00:00Z", "app-1970.01.01"],
      ["app", "not a date", "app-2030.12.31"],
      ["app", "2026-03-03T23:59:59Z", "app-2026.03.03"],
      ["app", "2026-12-31T23:59:59Z", "app-2026.12.31"],
      ["app", "2027-01-01T00:00:00Z", "app-2027.01.01"],
      ["app", "2024-02-29T10:00:00+09:00", "app-2024.02.29"],
    ];
    expect(cases.map(([prefix, timestamp]) => index(prefix, timestamp))).toEqual(cases.map(([, , name]) => name));
    let clock = new Date("2026-01-01T23:59:59Z");
    const processing = createDailyIndexer(true, () => clock);
    expect(processing("app", "2020-01-01T00:00:00Z")).toBe("app-2026.01.01");
    clock = new Date("2026-01-02T00:00:00Z");
    expect(processing("app", "2020-01-01T00:00:00Z")).toBe("app-2026.01.02");
    // A record written at 23:59:59 and read again after midnight keeps its day: the record timestamp wins.
    const writtenAt = Date.parse("2026-01-01T23:59:59Z");
    expect(processing("app", "2020-01-01T00:00:00Z", writtenAt)).toBe("app-2026.01.01");
    const byRecordTime = createDailyIndexer(false, () => clock);
    expect(byRecordTime("app", "not a date", writtenAt)).toBe("app-2026.01.01");
    // The same unparsable text again: still the record's own time, not the previous record's.
    expect(byRecordTime("app", "not a date", writtenAt + 1_000)).toBe("app-2026.01.02");
    expect(byRecordTime("app", "2026-01-05T10:00:00Z", writtenAt)).toBe("app-2026.01.05");
  });
});
