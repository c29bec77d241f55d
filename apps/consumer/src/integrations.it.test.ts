// The built producer and consumer as processes on the real stack, with their two barito integrations: Kafka,
// OpenSearch and Redis found through Consul (a stand-in speaking Consul's health API, since no Consul server can
// run here), and the log counts pushed to a BaritoMarket stand-in. The stand-in Consul first names a dead
// OpenSearch node as passing, so the consumer must look again when its bulk requests fail. Build both apps first.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type ConsumerProcess, opensearchUrl, startConsumer, until } from "./testing/harness.js";
import { type ProducerProcess, startProducer } from "./testing/producer-process.js";

const run = randomUUID().slice(0, 8);
const prefix = `in${run}_`;
const indexPrefix = `in${run}`;
const redisPrefix = `barito-it-${run}:`;
const newTopicEvent = `in${run}_new_topic_events`;
const dlqTopic = `in${run}_dlq`;
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** BaritoMarket stand-in: the counts each app pushed (path /producer or /consumer), summed per token. */
const pushed: Record<string, Record<string, number>> = { "/producer": {}, "/consumer": {} };
const market = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on("end", () => {
    const sums = pushed[req.url ?? ""];
    if (sums && req.headers["content-type"] === "application/json") {
      const groups = (JSON.parse(body) as { application_groups: Array<{ token: string; new_log_count: number }> })
        .application_groups;
      for (const { token, new_log_count } of groups) sums[token] = (sums[token] ?? 0) + new_log_count;
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"data":[]}');
  });
});

/** Consul stand-in: passing and critical instances per service; OpenSearch is a dead port at the first lookup. */
const lookups: Record<string, number> = {};
let deadPort = 0;
const consul = createServer((req, res) => {
  const service = /^\/v1\/health\/service\/([^?]+)\?passing$/.exec(req.url ?? "")?.[1] ?? "";
  lookups[service] = (lookups[service] ?? 0) + 1;
  const entry = (port: number, status = "passing", meta: object = {}) => ({
    Node: { Address: "127.0.0.1" },
    Service: { Address: "127.0.0.1", Port: port, Meta: meta },
    Checks: [{ Status: "passing" }, { Status: status }],
  });
  const os = Number(opensearchUrl.port || 9200);
  const answers: Record<string, object[]> = {
    "kafka-it": [entry(9092), entry(deadPort, "critical")],
    "es-it": lookups[service] === 1 ? [entry(deadPort, "passing", { http_schema: "http" })] : [entry(os)],
    "redis-it": [entry(6379), entry(deadPort, "critical")],
  };
  const answer = answers[service];
  if (!answer) return void res.writeHead(404).end();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
});

let producer: ProducerProcess | undefined;
let consumer: ConsumerProcess | undefined;

beforeAll(async () => {
  const closed = createServer();
  deadPort = Number(new URL(await listen(closed)).port);
  closed.close();
  const [marketUrl, consulUrl] = [await listen(market), await listen(consul)];
  const shared = {
    // Empty: resolved through Consul.
    BARITO_KAFKA_BROKERS: "",
    BARITO_CONSUL_URL: consulUrl.replace("http://", ""),
    BARITO_CONSUL_KAFKA_NAME: "kafka-it",
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_NEW_TOPIC_EVENT: newTopicEvent,
    BARITO_PUSH_METRIC_INTERVAL: "1s",
  };
  producer = await startProducer({
    ...shared,
    BARITO_PUSH_METRIC_URL: `${marketUrl}/producer`,
    BARITO_RATE_LIMITER_OPT: "REDIS",
    BARITO_REDIS_URL: "",
    BARITO_CONSUL_REDIS_NAME: "redis-it",
    BARITO_REDIS_KEY_PREFIX: redisPrefix,
  });
  consumer = await startConsumer({
    ...shared,
    BARITO_PUSH_METRIC_URL: `${marketUrl}/consumer`,
    BARITO_ELASTICSEARCH_URLS: "",
    BARITO_CONSUL_ELASTICSEARCH_NAME: "es-it",
    BARITO_KAFKA_GROUP_ID: `in${run}-group`,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
    BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
    BARITO_KAFKA_RETRY_INTERVAL: "1s",
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([producer?.stop(), consumer?.stop(15_000)]);
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  const admin = createKafkaAdmin({ brokers: ["127.0.0.1:9092"], clientId: `in-it-cleanup-${run}` });
  await admin.connect();
  // A deletion racing the apps' last metadata requests can be undone by auto-creation: looked at again, up to 3 times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`in${run}_`));
    if (topics.length === 0) break;
    await admin.deleteTopics(topics).catch(() => {});
    await sleep(2_000);
  }
  await admin.close();
  await fetch(new URL(`/${indexPrefix}-*`, opensearchUrl), { method: "DELETE" }).catch(() => {});
  const keys = execFileSync("redis-cli", ["--scan", "--pattern", `${redisPrefix}*`])
    .toString()
    .split("\n");
  for (const key of keys.filter(Boolean)) execFileSync("redis-cli", ["DEL", key]);
}, 60_000);

function post(url: string, body: unknown) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

const context = (app: string, secret: string) => ({
  kafka_topic: app,
  kafka_partition: 1,
  kafka_replication_factor: 1,
  es_index_prefix: `${indexPrefix}-${app}`,
  app_max_tps: 100,
  app_secret: secret,
});

describe("push metrics and Consul discovery (built apps, real stack)", () => {
  it("finds Kafka, Redis and OpenSearch through Consul and pushes the accepted and the indexed counts per app_secret", async () => {
    const p = producer as ProducerProcess;
    const batch = await post(`${p.rest}/produce_batch`, {
      context: context("shop", "secret-shop"),
      items: Array.from({ length: 5 }, (_, i) => ({ content: { n: i } })),
    });
    expect(batch.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const one = await post(`${p.rest}/produce`, { context: context("blog", "secret-blog"), content: { i } });
      expect(one.status).toBe(200);
    }
    // The limiter used the Redis Consul named (its window keys, alive for 10 s, carry this run's prefix), not its
    // local fallback.
    const keys = execFileSync("redis-cli", ["--scan", "--pattern", `${redisPrefix}*`])
      .toString()
      .trim();
    expect(keys).not.toBe("");
    const expected = { "secret-shop": 5, "secret-blog": 2 };
    // Key order is the order the apps indexed in, which varies: compare as maps, not as JSON text.
    const same = (sums: Record<string, number>) => isDeepStrictEqual(sums, expected);
    expect(await until(() => same(pushed["/producer"] ?? {}), 20_000)).toBe(true);
    // The consumer indexes only after it looked OpenSearch up again (the first answer named a dead node).
    await until(() => same(pushed["/consumer"] ?? {}), 70_000, 500);
    if (!same(pushed["/consumer"] ?? {})) console.log(lookups, (consumer as ConsumerProcess).output().slice(-20_000));
    expect(pushed["/consumer"]).toEqual(expected);
    expect(lookups["es-it"]).toBeGreaterThanOrEqual(2);
    expect((consumer as ConsumerProcess).output()).toContain("service instances changed");

    const metrics = await (await fetch(`${p.metrics}/metrics`)).text();
    expect(metrics).toMatch(/barito_producer_push_metric_requests_total\{result="ok"\} [1-9]/);
    expect(metrics).not.toMatch(/barito_producer_push_metric_requests_total\{result="failed"\} [1-9]/);
    // The tokens are secrets: in no log line of either app.
    for (const output of [p.output(), (consumer as ConsumerProcess).output()]) {
      expect(output).not.toContain("secret-shop");
      expect(output).not.toContain("secret-blog");
    }
  }, 120_000);
});
