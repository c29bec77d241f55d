import { create, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { createDailyIndexer, dailyIndex, decodeRecord } from "./documents.js";

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
  });
});

describe("createDailyIndexer()", () => {
  it("names the same index as dailyIndex() across day boundaries, prefixes and time zones", () => {
    const now = new Date("2030-12-31T23:59:59Z");
    const index = createDailyIndexer(false, () => now);
    const cases: Array<[string, string]> = [
      ["app", "2026-03-04T00:00:00Z"],
      ["app", "2026-03-04T23:59:59.999Z"],
      ["app", "2026-03-05T00:00:00Z"],
      ["app", "2026-03-04T23:30:00-02:00"],
      ["other", "2026-03-04T23:30:00-02:00"],
      ["app", "2026-03-04T23:30:00-02:00"],
      ["other", "2026-03-04T12:00:00Z"],
      ["app", "1969-12-31T23:00:00Z"],
      ["app", "1970-01-01T00:00:00Z"],
      ["app", "not a date"],
      ["app", "2026-03-03T23:59:59Z"],
    ];
    for (const [prefix, timestamp] of cases) {
      expect(index(prefix, timestamp)).toBe(dailyIndex(prefix, timestamp, false, now));
    }
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
