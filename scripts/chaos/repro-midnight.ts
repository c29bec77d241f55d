// Repro of FINDINGS.md #5: one log, written for a request at 23:59:59 UTC and again for its retry (same
// Idempotency-Key) at 00:00:01, is indexed twice — same _id, two daily indices. Publishes the two records the
// producer would write, runs the built consumer on them, prints the documents, cleans up.
// `node scripts/chaos/repro-midnight.ts` (KAFKA_BROKERS / OPENSEARCH_URL default to the local stack).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const requireFromConsumer = createRequire(join(root, "apps/consumer/package.json"));
const { create, toBinary } = requireFromConsumer("@bufbuild/protobuf");
const { TimberSchema } = requireFromConsumer("@barito-flow/proto");
const kafka = requireFromConsumer("@barito-flow/kafka");

const run = `repro${Date.now().toString(36)}`;
const topic = `${run}_app_logs`;
const admin = kafka.createKafkaAdmin({ brokers: [brokers], clientId: run });
const writer = kafka.createKafkaPublisher({ brokers: [brokers], clientId: `${run}-writer` });
await admin.connect();
await writer.connect();
await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
const record = (timestamp: string) => ({
  value: toBinary(
    TimberSchema,
    create(TimberSchema, {
      context: { kafkaTopic: "app", esIndexPrefix: run, appMaxTps: 1 },
      timestamp,
      content: { message: "one log, retried across midnight" },
    }),
  ),
  headers: { "idempotency-key": "order-42", "idempotency-item": "0" },
});
await writer.publish(topic, [record("2026-01-01T23:59:59Z")]); // the first attempt (its answer was lost)
await writer.publish(topic, [record("2026-01-02T00:00:01Z")]); // the retry, same key, two seconds later

const consumer = spawn(process.execPath, [join(root, "apps/consumer/dist/main.js"), "consumer"], {
  env: {
    ...process.env,
    LOG_LEVEL: "error",
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearch,
    BARITO_KAFKA_TOPIC_PREFIX: `${run}_`,
    BARITO_KAFKA_GROUP_ID: run,
    BARITO_CONSUMER_DLQ_TOPIC: `${run}_dlq`,
    EXPORTER_PORT: "127.0.0.1:0",
  },
  stdio: "inherit",
});
let hits: { _index: string; _id: string; _source: Record<string, unknown> }[] = [];
for (let i = 0; i < 60 && hits.length < 2; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  await fetch(`${opensearch}/${run}-*/_refresh`, { method: "POST" }).catch(() => undefined);
  const body = (await fetch(`${opensearch}/${run}-*/_search`)
    .then((r) => r.json())
    .catch(() => ({}))) as { hits?: { hits: typeof hits } };
  hits = body.hits?.hits ?? [];
}
for (const hit of hits) console.log(`${hit._index}  _id=${hit._id}  @timestamp=${hit._source["@timestamp"]}`);
console.log(hits.length > 1 ? "=> indexed twice" : "=> indexed once");
consumer.kill("SIGTERM");
await new Promise((r) => consumer.once("exit", r));
await fetch(`${opensearch}/${run}-*`, { method: "DELETE" }).catch(() => undefined);
await admin.deleteTopics([topic, `${run}_dlq`]).catch(() => undefined);
await Promise.allSettled([writer.close(), admin.close()]);
