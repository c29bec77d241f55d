import { describe, expect, it } from "@jest/globals";
import type { IncomingRecord } from "@barito-flow/kafka";
import type { DeadLetterReason } from "../pipeline/dead-letter.js";
import { deadLetterOf, shopRecord } from "../testing/dead-letters.js";
import { parseDeadLetter, sourceRecordOf } from "./dead-letter-record.js";
import { matchesFilter } from "./options.js";
import { createStatsCollector, formatStats } from "./stats.js";

const original = shopRecord({
  partition: 2,
  offset: "41",
  value: Buffer.from("bytes"),
  headers: { "idempotency-key": Buffer.from("order-1") },
  timestamp: 1_700_000_000_000,
});

const conflict: DeadLetterReason = {
  httpStatus: 400,
  errorType: "mapper_parsing_exception",
  reason: "failed to parse field [code]",
  index: "shop-2026.07.08",
};

/** `record` dead-lettered at offset 5 of the DLQ topic, at the time `at`. */
function deadLetterAt(record: IncomingRecord, at: number, why = conflict): IncomingRecord {
  return deadLetterOf(record, why, { offset: 5, timestamp: at });
}

describe("parseDeadLetter()", () => {
  it("reads back what the dead-letter writer wrote, and gives the source record with its own headers", () => {
    const deadLetter = parseDeadLetter(deadLetterAt(original, 1_800_000_000_000));
    expect(deadLetter).toMatchObject({
      dlq: { partition: 0, offset: "5" },
      deadLetteredAt: 1_800_000_000_000,
      source: { topic: "shop_logs", partition: 2, offset: "41", timestamp: 1_700_000_000_000 },
      itemIndex: 0,
      httpStatus: 400,
      errorType: "mapper_parsing_exception",
      index: "shop-2026.07.08",
      replays: 0,
      headers: { "idempotency-key": Buffer.from("order-1") },
    });
    const source = sourceRecordOf(deadLetter as NonNullable<typeof deadLetter>);
    expect(source).toEqual({ ...original, headers: { ...original.headers, "barito-dlq-replays": "1" } });
    // Written back again, the count goes on.
    const again = parseDeadLetter({ ...deadLetterAt(source, 1_800_000_100_000), offset: "9" });
    expect(again?.replays).toBe(1);
    expect(again?.headers).toEqual(original.headers);
  });

  it("is undefined for a record without barito's headers or with a broken source position", () => {
    expect(parseDeadLetter({ ...original, headers: {} })).toBeUndefined();
    const broken = deadLetterAt(original, 0);
    expect(
      parseDeadLetter({ ...broken, headers: { ...broken.headers, "barito-dlq-source-offset": "x" } }),
    ).toBeUndefined();
    expect(
      parseDeadLetter({ ...broken, headers: { ...broken.headers, "barito-dlq-source-partition": "-1" } }),
    ).toBeUndefined();
  });
});

describe("matchesFilter()", () => {
  const deadLetter = parseDeadLetter(deadLetterAt(original, 1_000)) as NonNullable<ReturnType<typeof parseDeadLetter>>;
  it.each([
    [{}, true],
    [{ sourceTopic: "shop_logs" }, true],
    [{ sourceTopic: "other_logs" }, false],
    [{ errorType: "mapper_parsing_exception" }, true],
    [{ errorType: "decode_error" }, false],
    [{ since: 1_000 }, true],
    [{ since: 1_001 }, false],
    [{ until: 1_001 }, true],
    [{ until: 1_000 }, false],
  ])("%j → %s", (filter, expected) => {
    expect(matchesFilter(deadLetter, filter)).toBe(expected);
  });
});

describe("createStatsCollector()", () => {
  it("counts by source topic, index, error type, status and reason, with the oldest and newest", () => {
    const collector = createStatsCollector();
    collector.add(parseDeadLetter(deadLetterAt(original, 2_000)) as never);
    collector.add(parseDeadLetter(deadLetterAt(original, 1_000)) as never);
    collector.add(
      parseDeadLetter(
        deadLetterAt({ ...original, topic: "pay_logs" }, 3_000, {
          httpStatus: 0,
          errorType: "decode_error",
          reason: "not a Timber",
        }),
      ) as never,
    );
    collector.addForeign();
    const stats = collector.result();
    expect(stats).toEqual({
      total: 3,
      notDeadLetters: 1,
      bySourceTopic: { shop_logs: 2, pay_logs: 1 },
      byIndex: { "shop-2026.07.08": 2, "(not sent)": 1 },
      byErrorType: { mapper_parsing_exception: 2, decode_error: 1 },
      byHttpStatus: { "400": 2, "0": 1 },
      byReason: { "failed to parse field [code]": 2, "not a Timber": 1 },
      replayed: 0,
      oldest: new Date(1_000).toISOString(),
      newest: new Date(3_000).toISOString(),
    });
    const text = formatStats(stats, "dlq");
    expect(text).toContain("dead letters in dlq: 3");
    expect(text).toMatch(/by source topic:\n\s+2 {2}shop_logs\n\s+1 {2}pay_logs/);
    expect(text).toContain("not dead letters): 1");
  });
});
