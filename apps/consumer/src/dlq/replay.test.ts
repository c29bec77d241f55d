import { describe, expect, it } from "@jest/globals";
import type { IncomingBatch, IncomingRecord } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { type BulkOperation, type ItemOutcome, SinkError } from "@barito-flow/opensearch-sink";
import type { DeadLetterReason } from "../pipeline/dead-letter.js";
import { createDailyIndexer } from "../pipeline/documents.js";
import { deadLetterOf, shopRecord } from "../testing/dead-letters.js";
import { timberOf } from "../testing/timber.js";
import { createReplayer } from "./replay.js";

const shopTimber = timberOf({ kafkaTopic: "shop", esIndexPrefix: "shop" }, "2026-07-08T09:10:11Z");
const timber = (seq: number) => shopTimber({ seq });

function deadLetter(offset: number, value: Buffer, why: DeadLetterReason, sourceOffset = 10 + offset): IncomingRecord {
  const source = shopRecord({ partition: 1, offset: String(sourceOffset), value });
  return deadLetterOf(source, why, { offset, timestamp: 5_000 });
}
const conflict = {
  httpStatus: 400,
  errorType: "mapper_parsing_exception",
  reason: "failed to parse [code]",
  index: "shop-2026.07.08",
};
const batch = (...messages: IncomingRecord[]): IncomingBatch => ({
  topic: "dlq",
  partition: 0,
  highWatermark: "99",
  messages,
});

function setup(outcome: (op: BulkOperation) => ItemOutcome | Error) {
  const sent: BulkOperation[] = [];
  const written: Array<{ record: IncomingRecord; itemIndex: number; why: DeadLetterReason }> = [];
  const replayer = createReplayer({
    filter: {},
    indexMethod: "BulkProcessor",
    indexFor: createDailyIndexer(false, () => new Date(0)),
    redact: (_prefix, json) => json.replace(/"seq":(\d+)/, '"seq":"#$1"'),
    logger: noopLogger,
    sink: {
      add: async (op) => {
        sent.push(op);
        const result = outcome(op);
        if (result instanceof Error) throw result;
        return result;
      },
      flush: async () => {},
    },
    deadLetters: { write: async (record, itemIndex, why) => void written.push({ record, itemIndex, why }) },
  });
  return { replayer, sent, written };
}

describe("createReplayer()", () => {
  it("re-indexes with the original id and index, redacted, and writes back what fails again with its new reason", async () => {
    const { replayer, sent, written } = setup((op) =>
      op.id === "shop_logs-1-11"
        ? {
            status: "rejected",
            httpStatus: 400,
            errorType: "mapper_parsing_exception",
            reason: "object mapping for [meta]",
          }
        : { status: "indexed", httpStatus: 200 },
    );
    const foreign: IncomingRecord = {
      topic: "dlq",
      partition: 0,
      offset: "2",
      value: Buffer.from("x"),
      headers: {},
      timestamp: 0,
    };
    await replayer.replayBatch(batch(deadLetter(0, timber(0), conflict), deadLetter(1, timber(1), conflict), foreign));
    expect(sent).toEqual([
      {
        action: "index",
        index: "shop-2026.07.08",
        id: "shop_logs-1-10",
        document: '{"seq":"#0","@timestamp":"2026-07-08T09:10:11Z"}',
      },
      {
        action: "index",
        index: "shop-2026.07.08",
        id: "shop_logs-1-11",
        document: '{"seq":"#1","@timestamp":"2026-07-08T09:10:11Z"}',
      },
    ]);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      itemIndex: 0,
      record: { topic: "shop_logs", partition: 1, offset: "11", headers: { "barito-dlq-replays": "1" } },
      why: { httpStatus: 400, reason: "object mapping for [meta]", index: "shop-2026.07.08" },
    });
    expect(replayer.summary()).toEqual({
      read: 3,
      skipped: 0,
      notDeadLetters: 1,
      indexed: 1,
      documentsIndexed: 1,
      failed: 1,
      failedByErrorType: { mapper_parsing_exception: 1 },
    });
  });

  it("writes back a record that still cannot be decoded, and one the sink refuses; a retriable failure throws", async () => {
    const undecodable = { httpStatus: 0, errorType: "decode_error", reason: "not a Timber" };
    const refused = setup(
      () => new SinkError("INVALID_OPERATION", "index: must be lowercase", { retriable: false, field: "index" }),
    );
    await refused.replayer.replayBatch(
      batch(deadLetter(0, Buffer.from([0xff, 0xff]), undecodable), deadLetter(1, timber(1), conflict)),
    );
    expect(refused.written.map((w) => [w.itemIndex, w.why.errorType])).toEqual([
      [-1, "decode_error"],
      [0, "invalid_index"],
    ]);
    const down = setup(() => new SinkError("SINK_CLOSED", "sink closed", { retriable: true }));
    await expect(down.replayer.replayBatch(batch(deadLetter(0, timber(0), conflict)))).rejects.toThrow("sink closed");
    expect(down.written).toEqual([]);
  });

  it("DataStream mode: creates into the data stream, its template made sure of once, a 409 counting as there", async () => {
    const sent: BulkOperation[] = [];
    const ensured: string[] = [];
    const replayer = createReplayer({
      filter: {},
      indexMethod: "DataStream",
      indexFor: createDailyIndexer(false, () => new Date(0)),
      ensureDataStream: async (prefix) => void ensured.push(prefix),
      logger: noopLogger,
      sink: {
        add: async (op) => {
          sent.push(op);
          return { status: "duplicate", httpStatus: 409 };
        },
        flush: async () => {},
      },
      deadLetters: { write: async () => {} },
    });
    await replayer.replayBatch(batch(deadLetter(0, timber(0), conflict), deadLetter(1, timber(1), conflict)));
    expect(sent.map((op) => [op.action, op.index])).toEqual([
      ["create", "shop"],
      ["create", "shop"],
    ]);
    expect(ensured).toEqual(["shop"]);
    expect(replayer.summary()).toMatchObject({ indexed: 2, failed: 0 });
  });

  it("prints instead of sending in a dry run, and leaves out what the filters do not choose", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const replayer = createReplayer({
      filter: { errorType: "mapper_parsing_exception" },
      indexMethod: "BulkProcessor",
      indexFor: createDailyIndexer(false, () => new Date(0)),
      logger: noopLogger,
      print: (line) => lines.push(line),
    });
    await replayer.replayBatch(
      batch(
        deadLetter(0, timber(0), conflict),
        deadLetter(1, timber(1), { ...conflict, errorType: "illegal_argument_exception" }),
      ),
    );
    expect(lines).toEqual([
      {
        action: "index",
        index: "shop-2026.07.08",
        id: "shop_logs-1-10",
        dlqPartition: 0,
        dlqOffset: "0",
        sourceTopic: "shop_logs",
        errorType: "mapper_parsing_exception",
        document: { seq: 0, "@timestamp": "2026-07-08T09:10:11Z" },
      },
    ]);
    expect(replayer.summary()).toMatchObject({ read: 2, skipped: 1, indexed: 1 });
  });
});
