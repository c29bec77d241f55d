// The consumer against a real Elasticsearch (the stack's opt-in `elasticsearch` component, 8.17.0 by default or
// STACK_ELASTICSEARCH_VERSION=7.10.2) and the default stack's real Kafka: both record formats become documents with
// the right daily index, _id and @timestamp; a mapping conflict is dead-lettered; DataStream mode creates barito's
// template and the data stream, and a replay does not duplicate (8.x only: the 7.10.2 OSS build has no data streams).
// Elasticsearch is started here when it is not running (and stopped again at the end only then); if it cannot
// start, the suite fails.
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { type ConsumerApp, createConsumerApp } from "./app.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const esVersion = process.env.STACK_ELASTICSEARCH_VERSION || "8.17.0";
const esUrl = `http://127.0.0.1:${process.env.STACK_ELASTICSEARCH_PORT || "9201"}`;
const stackScript = join(__dirname, "..", "..", "..", "scripts", "stack", "stack.ts");
const run = randomUUID().slice(0, 8);
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `es-it-${run}` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `es-it-writer-${run}` });
const apps: ConsumerApp[] = [];
const topics: string[] = [];
let startedHere = false;

/**
 * Calls the stack's Node API in a child Node (the stack modules are ESM with top-level await, which Jest's CommonJS
 * transform cannot load) and returns what the call resolved to.
 */
function stackApi(call: string): Promise<string> {
  const code = `import * as stack from ${JSON.stringify(stackScript)};
const result = await stack.${call};
console.log("RESULT " + JSON.stringify(result));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", code],
      { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        if (error || !line) reject(new Error(`stack ${call} failed: ${error?.message ?? ""}\n${stdout}${stderr}`));
        else resolve(JSON.parse(line.slice("RESULT ".length)) as string);
      },
    );
  });
}

function startConsumer(name: string, env: Record<string, string> = {}): ConsumerApp {
  const config = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: esUrl,
    BARITO_KAFKA_TOPIC_PREFIX: `es${run}${name}_`,
    BARITO_KAFKA_GROUP_ID: `es${run}${name}-group`,
    BARITO_NEW_TOPIC_EVENT: `es${run}${name}_events`,
    BARITO_CONSUMER_DLQ_TOPIC: `es${run}${name}_dlq`,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
    LOG_LEVEL: "silent",
    ...env,
  });
  const app = createConsumerApp(config, noopLogger);
  apps.push(app);
  topics.push(config.kafka.newTopicEventTopic, config.consumer.dlqTopic);
  return app;
}

type Hit = { _id: string; _index: string; _source: Record<string, unknown> };

async function search(target: string): Promise<Hit[]> {
  await fetch(`${esUrl}/${target}/_refresh`, { method: "POST" });
  const res = await fetch(`${esUrl}/${target}/_search?size=100`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: { match_all: {} } }),
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

/** Headers of every record on the topic, one line per record (kcat, as in consumer.it.test.ts). */
function topicHeaders(topic: string): string[] {
  try {
    return execFileSync("kcat", ["-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\n"], {
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe"],
    })
      .toString()
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

beforeAll(async () => {
  startedHere = (await stackApi(`startComponent("elasticsearch")`)) === "started";
  const root = await fetch(`${esUrl}/_cluster/health`);
  expect(root.status).toBe(200);
  await Promise.all([admin.connect(), writer.connect()]);
}, 240_000);

afterAll(async () => {
  for (const app of apps) await app.stop(5_000).catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
  if (startedHere) await stackApi(`stopComponent("elasticsearch")`);
  else {
    // Left running by someone else: this run's daily indices go (exact names: 8.x refuses wildcard deletes; the
    // integ-test build cannot delete data streams, whose names are unique per run anyway).
    const indices = ["2026.03.04", "2026.01.02", "2026.03.05"].map((day) => `es${run}-shop-${day}`).join(",");
    await fetch(`${esUrl}/${indices}?ignore_unavailable=true`, { method: "DELETE" }).catch(() => undefined);
  }
}, 60_000);

describe(`consumer against Elasticsearch ${esVersion} (real Kafka)`, () => {
  it("indexes both record formats with deterministic ids, daily indices and @timestamp; dead-letters a conflict", async () => {
    const topic = `es${run}bp_shop_logs`;
    const indexPrefix = `es${run}-shop`;
    const context = { kafkaTopic: "shop", esIndexPrefix: indexPrefix, appMaxTps: 100 };
    const timber = (content: Record<string, unknown>, timestamp = "2026-03-04T05:06:07Z") =>
      Buffer.from(toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content: content as never })));
    await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
    topics.push(topic);
    await writer.publish(topic, [
      { value: timber({ message: "first", amount: 12.5, nested: { ok: true } }) },
      { value: timber({ message: "with key" }), headers: { "idempotency-key": "order-1", "idempotency-item": "0" } },
      { value: timber({ message: "own timestamp", "@timestamp": "2026-01-02T00:00:00Z" }) },
      {
        value: Buffer.from(
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
        ),
        headers: { message_format: "TimberCollection" },
      },
    ]);
    const app = startConsumer("bp");
    await app.start();
    expect(
      await waitFor(
        () => search(`${indexPrefix}-*`),
        (hits) => hits.length >= 5,
      ),
    ).toHaveLength(5);
    // One partition, so this comes after "first" mapped "amount" as a number: an object is a mapping conflict (400).
    await writer.publish(topic, [
      { value: timber({ message: "conflict", amount: { not: "a number" } }) },
      { value: timber({ message: "after the conflict" }) },
    ]);

    const docs = await waitFor(
      () => search(`${indexPrefix}-*`),
      (hits) => hits.length >= 6,
    );
    expect(docs).toHaveLength(6);
    const byMessage = new Map(docs.map((d) => [String(d._source.message ?? `n${d._source.n}`), d]));
    const first = byMessage.get("first");
    expect(first?._index).toBe(`${indexPrefix}-2026.03.04`);
    expect(first?._id).toBe(`${topic}-0-0`);
    expect(first?._source).toEqual({
      message: "first",
      amount: 12.5,
      nested: { ok: true },
      "@timestamp": "2026-03-04T05:06:07Z",
    });
    expect(byMessage.get("with key")?._id).toBe("order-1-0");
    expect(byMessage.get("own timestamp")?._index).toBe(`${indexPrefix}-2026.01.02`);
    expect(byMessage.get("own timestamp")?._source["@timestamp"]).toBe("2026-01-02T00:00:00Z");
    expect(byMessage.get("n1")?._id).toBe(`${topic}-0-3-0`);
    expect(byMessage.get("n2")?._id).toBe(`${topic}-0-3-1`);
    expect(byMessage.get("n2")?._index).toBe(`${indexPrefix}-2026.03.05`);
    expect(byMessage.get("n2")?._source).toEqual({ n: 2, "@timestamp": "2026-03-05T00:00:00Z" });
    expect(byMessage.has("after the conflict")).toBe(true);
    expect(byMessage.has("conflict")).toBe(false);

    const dead = await waitFor(
      async () => topicHeaders(`es${run}bp_dlq`),
      (lines) => lines.length >= 1,
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]).toContain("barito-dlq-http-status=400");
    expect(dead[0]).toContain(`barito-dlq-source-topic=${topic}`);
    expect(dead[0]).toContain("barito-dlq-source-offset=4");
    expect(dead[0]).toMatch(/barito-dlq-error-type=(mapper_parsing_exception|document_parsing_exception)/);
    expect(app.readiness().ready).toBe(true);
  });

  // The 7.10.2 integ-test build is the OSS distribution: data streams are an x-pack feature there.
  (esVersion.startsWith("7.") ? it.skip : it)(
    "DataStream: creates barito's template and the data stream, and a replay does not duplicate",
    async () => {
      const stream = `es${run}-stream`;
      const component = `es${run}-component`;
      const topic = `es${run}ds_app_logs`;
      await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
      topics.push(topic);
      const context = { kafkaTopic: "x", esIndexPrefix: stream, appMaxTps: 100 };
      await writer.publish(
        topic,
        Array.from({ length: 20 }, (_, i) => ({
          value: Buffer.from(
            toBinary(
              TimberSchema,
              create(TimberSchema, { context, timestamp: "2026-09-10T11:12:13Z", content: { i } as never }),
            ),
          ),
        })),
      );
      const env = {
        BARITO_ELASTICSEARCH_INDEX_METHOD: "DataStream",
        BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: component,
        // What a remote cluster gets by default (auto = gzip off loopback): Elasticsearch must take gzip bodies too.
        BARITO_ELASTICSEARCH_COMPRESSION: "gzip",
      };
      await startConsumer("ds", env).start();
      const docs = await waitFor(
        () => search(stream),
        (hits) => hits.length >= 20,
      );
      expect(docs).toHaveLength(20);
      // Backing indices of a data stream (the integ-test build has no GET _data_stream to ask directly).
      for (const doc of docs) expect(doc._index).toMatch(new RegExp(`^\\.ds-${stream}-`));
      expect(docs[0]?._source["@timestamp"]).toBe("2026-09-10T11:12:13Z");

      const template = (await (await fetch(`${esUrl}/_index_template/${stream}-template`)).json()) as {
        index_templates: Array<{
          index_template: { index_patterns: string[]; priority: number; composed_of: string[]; data_stream?: object };
        }>;
      };
      expect(template.index_templates[0]?.index_template).toMatchObject({
        index_patterns: [stream],
        priority: 200,
        composed_of: [component],
        data_stream: expect.any(Object),
      });
      expect((await fetch(`${esUrl}/_component_template/${component}`)).status).toBe(200);

      // Another group reads the same records again: create + 409 counts as done, nothing is added.
      const replay = startConsumer("ds", { ...env, BARITO_KAFKA_GROUP_ID: `es${run}ds-replay` });
      await replay.start();
      expect(
        await waitFor(
          async () => replay.processed(),
          (n) => n >= 20,
        ),
      ).toBeGreaterThanOrEqual(20);
      expect(await search(stream)).toHaveLength(20);
    },
  );
});
