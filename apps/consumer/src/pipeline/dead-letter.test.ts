import { describe, expect, it } from "@jest/globals";
import type { OutgoingRecord } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { createConsumerMetrics } from "../metrics.js";
import { shopRecord } from "../testing/dead-letters.js";
import { createDeadLetterWriter, deadLetterHeaders } from "./dead-letter.js";

const record = shopRecord({
  partition: 3,
  offset: "77",
  value: Buffer.from("original bytes"),
  headers: { "idempotency-key": Buffer.from("order-1") },
});
const rejected = { httpStatus: 400, errorType: "mapper_parsing_exception", reason: "failed to parse\n\tfield [a]" };

describe("deadLetterHeaders()", () => {
  it("keeps the record's headers and adds where it came from and why, the reason on one line", () => {
    expect(deadLetterHeaders(record, 0, rejected)).toEqual({
      "idempotency-key": Buffer.from("order-1"),
      "barito-dlq-source-topic": "shop_logs",
      "barito-dlq-source-partition": "3",
      "barito-dlq-source-offset": "77",
      "barito-dlq-source-timestamp": "0",
      "barito-dlq-item-index": "0",
      "barito-dlq-http-status": "400",
      "barito-dlq-error-type": "mapper_parsing_exception",
      "barito-dlq-reason": "failed to parse field [a]",
    });
    expect(deadLetterHeaders(record, 0, { ...rejected, index: "shop-2026.07.08" })).toMatchObject({
      "barito-dlq-index": "shop-2026.07.08",
    });
    const long = deadLetterHeaders(record, -1, { httpStatus: 0, errorType: "x", reason: "y".repeat(5_000) });
    expect(long["barito-dlq-reason"]).toHaveLength(2_000);
  });
});

describe("createDeadLetterWriter()", () => {
  it("retries a failed publish until the topic has the record, and counts it once", async () => {
    const metrics = createConsumerMetrics();
    const published: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
    let failures = 1;
    const writer = createDeadLetterWriter({
      publisher: {
        async publish(topic, records) {
          if (failures-- > 0) throw new Error("broker away");
          published.push({ topic, records });
        },
      },
      topic: "dlq",
      metrics,
      logger: noopLogger,
      isStopping: () => false,
    });
    await writer.write(record, 0, rejected);
    expect(published).toEqual([
      { topic: "dlq", records: [{ value: record.value, headers: deadLetterHeaders(record, 0, rejected) }] },
    ]);
    expect((await metrics.deadLettered.get()).values).toEqual([
      { labels: { reason: "mapper_parsing_exception" }, value: 1 },
    ]);
  });

  it("gives up when a publish fails while stopping, and writes an empty value for a record without one", async () => {
    const values: Array<Buffer | Uint8Array> = [];
    const writer = createDeadLetterWriter({
      publisher: {
        async publish(_topic, records) {
          values.push(...records.map((r) => r.value));
          throw new Error("publisher closed");
        },
      },
      topic: "dlq",
      metrics: createConsumerMetrics(),
      logger: noopLogger,
      isStopping: () => true,
    });
    await expect(writer.write({ ...record, value: null }, -1, rejected)).rejects.toThrow("publisher closed");
    expect(values).toEqual([Buffer.alloc(0)]);
  });
});
