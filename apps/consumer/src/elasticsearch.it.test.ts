// The consumer against a real Elasticsearch (the stack's opt-in `elasticsearch` component, 8.17.0 by default or
// STACK_ELASTICSEARCH_VERSION=7.10.2) and the default stack's real Kafka: both record formats become documents with
// the right daily index, _id and @timestamp; a mapping conflict is dead-lettered; DataStream mode creates barito's
// template and the data stream, and a replay does not duplicate (8.x only: the 7.10.2 OSS build has no data streams).
// Elasticsearch is started here when it is not running (and stopped again at the end only then); if it cannot
// start, the suite fails.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { consumerFleet } from "./testing/in-process.js";
import { kafkaClients, searchHits, topicHeaders } from "./testing/stack.js";
import { timberCollection, timberOf, timberRecords } from "./testing/timber.js";
import { waitFor } from "./testing/wait.js";

const esVersion = process.env.STACK_ELASTICSEARCH_VERSION || "8.17.0";
const esUrl = `http://127.0.0.1:${process.env.STACK_ELASTICSEARCH_PORT || "9201"}`;
const stackScript = join(__dirname, "..", "..", "..", "scripts", "stack", "stack.ts");
const run = randomUUID().slice(0, 8);
const kafka = kafkaClients(`es-it-${run}`);
const { admin, writer } = kafka;
const consumers = consumerFleet(`es${run}`, { BARITO_ELASTICSEARCH_URLS: esUrl });
const topics = consumers.topics;
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

const search = (target: string) => searchHits(target, undefined, esUrl);

beforeAll(async () => {
  startedHere = (await stackApi(`startComponent("elasticsearch")`)) === "started";
  const root = await fetch(`${esUrl}/_cluster/health`);
  expect(root.status).toBe(200);
  await kafka.connect();
}, 240_000);

afterAll(async () => {
  await consumers.stop();
  await admin.deleteTopics(topics).catch(() => undefined);
  await kafka.close();
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
    const timber = timberOf(context, "2026-03-04T05:06:07Z");
    await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
    topics.push(topic);
    await writer.publish(topic, [
      { value: timber({ message: "first", amount: 12.5, nested: { ok: true } }) },
      { value: timber({ message: "with key" }), headers: { "idempotency-key": "order-1", "idempotency-item": "0" } },
      { value: timber({ message: "own timestamp", "@timestamp": "2026-01-02T00:00:00Z" }) },
      {
        value: timberCollection(context, [
          { timestamp: "2026-03-05T00:00:00Z", content: { n: 1 } },
          { timestamp: "2026-03-05T00:00:00Z", content: { n: 2 } },
        ]),
        headers: { message_format: "TimberCollection" },
      },
    ]);
    const app = consumers.create("bp");
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
        timberRecords(20, context, "2026-09-10T11:12:13Z", (i) => ({ i })),
      );
      const env = {
        BARITO_ELASTICSEARCH_INDEX_METHOD: "DataStream",
        BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: component,
        // What a remote cluster gets by default (auto = gzip off loopback): Elasticsearch must take gzip bodies too.
        BARITO_ELASTICSEARCH_COMPRESSION: "gzip",
      };
      await consumers.create("ds", env).start();
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
      const replay = consumers.create("ds", { ...env, BARITO_KAFKA_GROUP_ID: `es${run}ds-replay` });
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
