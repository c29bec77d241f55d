import { describe, expect, it } from "@jest/globals";
import { noopLogger } from "@barito-flow/logger";
import { createConsumerApp, type GroupConsumerOptions } from "./app.js";
import { loadConsumerConfig } from "./config.js";
import { dryRunAdapters, parseDryRunFlags } from "./dry-run.js";
import { batchOf, createFakeAdapters, type FakeGroupConsumer } from "./testing/fakes.js";
import { timberOf } from "./testing/timber.js";

const config = loadConsumerConfig({
  BARITO_KAFKA_BROKERS: "kafka.invalid:9092",
  BARITO_ELASTICSEARCH_URLS: "http://opensearch.invalid:9200",
  BARITO_KAFKA_TOPIC_PREFIX: "t_",
  BARITO_KAFKA_GROUP_ID: "g",
  BARITO_CONSUMER_DLQ_TOPIC: "t_dlq",
  LOG_LEVEL: "silent",
});
const timber = timberOf({ kafkaTopic: "shop", esIndexPrefix: "shop" }, "2026-07-08T09:10:11Z");

describe("dryRunAdapters()", () => {
  it("prints each document after redaction, indexes, dead-letters and commits nothing, in a throwaway group", async () => {
    const fakes = createFakeAdapters();
    const lines: string[] = [];
    const created: FakeGroupConsumer[] = [];
    const pushed: string[] = [];
    const recording = {
      ...fakes.adapters,
      pushMetrics: { add: (token: string) => void pushed.push(token), start: () => {}, stop: async () => {} },
      createConsumer: (options: GroupConsumerOptions) => {
        const consumer = fakes.adapters.createConsumer(options);
        created.push(consumer);
        return consumer;
      },
    };
    const adapters = dryRunAdapters(recording, { from: "latest", print: (line) => lines.push(line) });
    const app = createConsumerApp({
      config,
      logger: noopLogger,
      ...adapters,
      redaction: {
        rules: {
          kind: "inline",
          start: async () => {},
          stop: () => {},
          status: () => ({ kind: "inline", loaded: true }),
        } as never,
        redact: (_prefix, json) => json.replace(/\d{4}-\d{4}/g, "[CARD]"),
      },
      commitIntervalMs: 5,
    });
    await app.start();
    const consumer = created.find((c) => /^g-dry-run-[0-9a-f]{8}$/.test(c.options.groupId)) as FakeGroupConsumer;
    expect(consumer.options).toMatchObject({ fromBeginning: false });
    await consumer.deliver(
      batchOf("t_shop_logs", 0, 0, [timber({ card: "4111-1111", amount: 12.5 }), Buffer.from([0xff])]),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines).toEqual([
      '{"index":"shop-2026.07.08","id":"t_shop_logs-0-0","document":{"card":"[CARD]","amount":12.5,"@timestamp":"2026-07-08T09:10:11Z"}}',
    ]);
    expect(fakes.sink.submitted).toEqual([]);
    expect(fakes.deadLetters.published).toEqual([]);
    expect(consumer.commits).toEqual([]);
    expect(pushed).toEqual([]);
    await app.stop(500);
  });
});

describe("parseDryRunFlags()", () => {
  it("reads --dry-run and --from, and refuses a --from without a dry run or with another value", () => {
    expect(parseDryRunFlags([])).toEqual({ dryRun: false, from: "earliest" });
    expect(parseDryRunFlags(["--dry-run"])).toEqual({ dryRun: true, from: "earliest" });
    expect(parseDryRunFlags(["--dry-run", "--from", "latest"])).toEqual({ dryRun: true, from: "latest" });
    expect(() => parseDryRunFlags(["--dry-run", "--from", "now"])).toThrow(
      "--from: 'now' is neither earliest nor latest",
    );
    expect(() => parseDryRunFlags(["--dry-run", "--from"])).toThrow("--from: '' is neither");
    expect(() => parseDryRunFlags(["--from", "latest"])).toThrow("--from is an option of --dry-run only");
  });
});
