// The consumer against the real local Kafka and OpenSearch: records of both barito formats, written by an
// independent Kafka client, end up as documents with the right index, _id and @timestamp; poison goes to the
// dead-letter topic with its reason while the records around it are indexed; replays do not duplicate;
// shutdown commits.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { ConsumerApp } from "./app.js";
import { createStackConsumer, stackConfig } from "./testing/in-process.js";
import { brokers, kafkaClients, opensearch, searchHits, topicHeaders } from "./testing/stack.js";
import { encodeTimber, timberCollection, timberOf } from "./testing/timber.js";
import { waitFor } from "./testing/wait.js";

const run = randomUUID().slice(0, 8);
const prefix = `ct${run}_`;
const topic = `${prefix}shop_logs`;
const indexPrefix = `ct${run}-shop`;
const dlqTopic = `ct${run}_dlq`;
const kafka = kafkaClients(`consumer-it-${run}`);
const { admin, writer } = kafka;
const apps: ConsumerApp[] = [];

function startConsumer(groupId: string): ConsumerApp {
  const config = stackConfig({
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_KAFKA_GROUP_ID: groupId,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
  });
  const app = createStackConsumer(config);
  apps.push(app);
  return app;
}

const search = () => searchHits(`${indexPrefix}-*`, { query: { match_all: {} }, version: true });

const context = { kafkaTopic: "shop", esIndexPrefix: indexPrefix, appMaxTps: 100 };
const timber = timberOf(context, "2026-03-04T05:06:07Z");

beforeAll(async () => {
  await kafka.connect();
  await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
  // Some records exist before the consumer starts (read from the earliest offset), more arrive later.
  await writer.publish(topic, [
    { value: timber({ message: "first", amount: 12.5, nested: { ok: true } }) },
    { value: timber({ message: "with key" }), headers: { "idempotency-key": "order-1", "idempotency-item": "2" } },
    { value: timber({ message: "own timestamp", "@timestamp": "2026-01-02T00:00:00Z" }) },
  ]);
});

afterAll(async () => {
  for (const app of apps) await app.stop(5_000).catch(() => undefined);
  await fetch(`${opensearch}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, dlqTopic]).catch(() => undefined);
  await kafka.close();
});

describe("consumer (real Kafka and OpenSearch)", () => {
  it("indexes both record formats with deterministic ids, daily indices and @timestamp; dead-letters poison", async () => {
    const app = startConsumer(`ct${run}-group`);
    await app.start();
    // The records written before start map "amount" as a number first: records on other partitions are not
    // ordered relative to them, so the conflicting one is written only after these are indexed.
    expect(
      await waitFor(
        () => search(),
        (hits) => hits.length >= 3,
      ),
    ).toHaveLength(3);
    const poison = Buffer.from("definitely not protobuf \u0000\u00ff");
    const collection = timberCollection(context, [
      { timestamp: "2026-03-05T00:00:00Z", content: { n: 1 } },
      { timestamp: "2026-03-05T00:00:00Z", content: { n: 2 } },
    ]);
    await writer.publish(topic, [
      { value: collection, headers: { message_format: "TimberCollection" } },
      { value: poison, headers: { "trace-id": "t-77" } },
      // "amount" is a number in the first document; an object here is a mapping conflict (HTTP 400).
      { value: timber({ message: "conflict", amount: { not: "a number" } }) },
      // Written straight to Kafka, past the producer's validation: an index name OpenSearch refuses.
      {
        value: encodeTimber({ ...context, esIndexPrefix: "Not A*Valid,Index" }, "2026-03-04T05:06:07Z", {
          message: "bad index",
        }),
      },
      { value: timber({ message: "after the poison" }) },
    ]);

    const docs = await waitFor(
      () => search(),
      (hits) => hits.length >= 6,
    );
    expect(docs).toHaveLength(6);
    const byMessage = new Map(docs.map((d) => [String(d._source.message ?? `n${d._source.n}`), d]));
    const first = byMessage.get("first");
    expect(first?._index).toBe(`${indexPrefix}-2026.03.04`);
    expect(first?._id).toMatch(new RegExp(`^${topic}-[01]-\\d+$`));
    expect(first?._source).toEqual({
      message: "first",
      amount: 12.5,
      nested: { ok: true },
      "@timestamp": "2026-03-04T05:06:07Z",
    });
    // The item number the producer gave this record (its position in a /produce_batch), not always 0.
    expect(byMessage.get("with key")?._id).toBe("order-1-2");
    expect(byMessage.get("own timestamp")?._index).toBe(`${indexPrefix}-2026.01.02`);
    expect(byMessage.get("own timestamp")?._source["@timestamp"]).toBe("2026-01-02T00:00:00Z");
    expect(byMessage.get("n1")?._id).toMatch(new RegExp(`^${topic}-[01]-\\d+-0$`));
    expect(byMessage.get("n2")?._id).toMatch(new RegExp(`^${topic}-[01]-\\d+-1$`));
    expect(byMessage.get("n2")?._index).toBe(`${indexPrefix}-2026.03.05`);
    expect(byMessage.has("after the poison")).toBe(true);
    expect(byMessage.has("conflict")).toBe(false);

    const dead = await waitFor(
      async () => topicHeaders(dlqTopic),
      (lines) => lines.length >= 3,
    );
    expect(dead).toHaveLength(3);
    const decodeFailure = dead.find((h) => h.includes("barito-dlq-error-type=decode_error"));
    const conflict = dead.find((h) => h.includes("barito-dlq-http-status=400"));
    expect(decodeFailure).toContain(`barito-dlq-source-topic=${topic}`);
    expect(decodeFailure).toMatch(/barito-dlq-source-partition=[01](,|$)/);
    expect(decodeFailure).toMatch(/barito-dlq-source-offset=\d+(,|$)/);
    // The record's own headers travel with it.
    expect(decodeFailure).toContain("trace-id=t-77");
    // The dead letter's value is the record as it was read, byte for byte (kcat: length-prefixed values).
    const values = execFileSync(
      "kcat",
      ["-b", brokers, "-C", "-t", dlqTopic, "-o", "beginning", "-e", "-q", "-f", "%R%s"],
      { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] },
    );
    const deadValues: Buffer[] = [];
    for (let offset = 0; offset < values.length; offset += 4 + values.readUInt32BE(offset))
      deadValues.push(values.subarray(offset + 4, offset + 4 + values.readUInt32BE(offset)));
    expect(deadValues).toHaveLength(3);
    expect(deadValues.filter((value) => value.equals(poison))).toHaveLength(1);
    for (const value of deadValues) expect(value.length).toBeGreaterThan(0);
    expect(conflict).toMatch(
      /barito-dlq-error-type=(mapper_parsing_exception|illegal_argument_exception|document_parsing_exception)/,
    );
    expect(conflict).toContain("barito-dlq-item-index=0");
    // Refused before it reaches OpenSearch (the sink checks index names), with the rule that was broken.
    expect(dead.find((h) => h.includes("barito-dlq-error-type=invalid_index"))).toMatch(
      /barito-dlq-reason=index: must be lowercase/,
    );
    expect(app.readiness().ready).toBe(true);
  });

  it("commits on shutdown, and a replay by another group overwrites instead of duplicating", async () => {
    const [app] = apps;
    await app?.stop(10_000);
    const committed = await admin.fetchCommittedOffsets(`ct${run}-group`, [topic]);
    const ends = await admin.fetchTopicOffsets(topic);
    for (const end of ends.filter((e) => e.high !== "0")) {
      expect(committed.find((c) => c.partition === end.partition)?.offset).toBe(end.high);
    }

    const replay = startConsumer(`ct${run}-replay`);
    await replay.start();
    // Nine logs: six documents, three dead letters.
    expect(
      await waitFor(
        async () => replay.processed(),
        (n) => n >= 9,
      ),
    ).toBeGreaterThanOrEqual(9);
    // Every document was written again (its version went up), and there are still six: overwritten, not added.
    const docs = await waitFor(
      () => search(),
      (hits) => hits.length === 6 && hits.every((hit) => hit._version >= 2),
    );
    expect(docs.map((hit) => hit._version >= 2)).toEqual(Array(6).fill(true));
    expect(docs).toHaveLength(6);
  });
});
