// The consumer against the real local Kafka and OpenSearch: records of both barito formats, written by an
// independent Kafka client, end up as documents with the right index, _id and @timestamp; poison goes to the
// dead-letter topic with its reason while the records around it are indexed; replays do not duplicate;
// shutdown commits.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { createConsumerAdapters } from "./adapters.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `ct${run}_`;
const topic = `${prefix}shop_logs`;
const indexPrefix = `ct${run}-shop`;
const dlqTopic = `ct${run}_dlq`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `consumer-it-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `consumer-it-writer-${run}` });
const apps: ConsumerApp[] = [];

function startConsumer(groupId: string): ConsumerApp {
  const config = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearchUrl,
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_KAFKA_GROUP_ID: groupId,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
    LOG_LEVEL: "silent",
  });
  const app = createConsumerApp({ config, logger: noopLogger, ...createConsumerAdapters(config, noopLogger) });
  apps.push(app);
  return app;
}

interface Hit {
  _id: string;
  _index: string;
  _version: number;
  _source: Record<string, unknown>;
}

async function search(query: object = { match_all: {} }): Promise<Hit[]> {
  await fetch(`${opensearchUrl}/${indexPrefix}-*/_refresh`, { method: "POST" });
  const res = await fetch(`${opensearchUrl}/${indexPrefix}-*/_search?size=100`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, version: true }),
  });
  const body = (await res.json()) as { hits?: { hits: Hit[] } };
  return body.hits?.hits ?? [];
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    value = await probe();
  }
  return value;
}

const context = { kafkaTopic: "shop", esIndexPrefix: indexPrefix, appMaxTps: 100 };
const timber = (content: Record<string, unknown>, timestamp = "2026-03-04T05:06:07Z") =>
  Buffer.from(toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content: content as never })));

beforeAll(async () => {
  await Promise.all([admin.connect(), writer.connect()]);
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
  await fetch(`${opensearchUrl}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, dlqTopic]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
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
    const collection = Buffer.from(
      toBinary(
        TimberCollectionSchema,
        create(TimberCollectionSchema, {
          context,
          items: [
            create(TimberSchema, { timestamp: "2026-03-05T00:00:00Z", content: { n: 1 } }),
            create(TimberSchema, { timestamp: "2026-03-05T00:00:00Z", content: { n: 2 } }),
          ],
        }),
      ),
    );
    await writer.publish(topic, [
      { value: collection, headers: { message_format: "TimberCollection" } },
      { value: poison, headers: { "trace-id": "t-77" } },
      // "amount" is a number in the first document; an object here is a mapping conflict (HTTP 400).
      { value: timber({ message: "conflict", amount: { not: "a number" } }) },
      // Written straight to Kafka, past the producer's validation: an index name OpenSearch refuses.
      {
        value: Buffer.from(
          toBinary(
            TimberSchema,
            create(TimberSchema, {
              context: { ...context, esIndexPrefix: "Not A*Valid,Index" },
              timestamp: "2026-03-04T05:06:07Z",
              content: { message: "bad index" },
            }),
          ),
        ),
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
      async () => {
        try {
          return execFileSync(
            "kcat",
            ["-b", brokers, "-C", "-t", dlqTopic, "-o", "beginning", "-e", "-q", "-f", "%h\n"],
            { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] },
          )
            .toString()
            .trim()
            .split("\n")
            .filter(Boolean);
        } catch {
          return [];
        }
      },
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
