// The secrets audit: the built producer and consumer (`pnpm build` first), run as deployed with app-secret
// authentication and operator tokens, are sent the secrets in requests (right, wrong, foreign, locked out, on every
// protocol) and in their configuration (a secrets file that is rotated, broken and rotated again, inline secrets
// printed by --check-config). Every line either process writes to stdout or stderr, and every /metrics answer, is
// then searched for each secret and token: none may appear.
import { type ChildProcess, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { Producer } from "@barito-flow/proto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "@jest/globals";
import { freePorts, isRunning, repoRoot, spawnBuiltApp } from "./testing/processes.js";
import { until } from "./testing/requests.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `audit${run}_`;
const index = `audit-${run}`;
const secret = (name: string) => `${name}-${randomUUID()}`;
const secrets = {
  shop: secret("shop-secret"),
  spare: secret("spare-secret"),
  wrong: secret("wrong-secret"),
  broken: secret("broken-file-secret"),
  rotated: secret("rotated-secret"),
  inline: secret("inline-secret"),
  producerToken: secret("producer-token"),
  consumerToken: secret("consumer-token"),
  wrongToken: secret("wrong-token"),
};
const dir = mkdtempSync(join(tmpdir(), "auth-audit-"));
const secretsFile = join(dir, "secrets.json");
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (isRunning(child)) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  await fetch(`${opensearch}/${index}-*`, { method: "DELETE" }).catch(() => undefined);
  const admin = createKafkaAdmin({ brokers: [brokers], clientId: `audit-cleanup-${run}` });
  await admin.connect();
  await admin.deleteTopics([`${prefix}shop_logs`, `${prefix}events`, `${prefix}dlq`]).catch(() => {});
  await admin.close();
});

function startApp(app: "producer" | "consumer", env: Record<string, string>) {
  const started = spawnBuiltApp(app, { NODE_ENV: "production", LOG_FORMAT: "json", LOG_LEVEL: "debug", ...env });
  children.push(started.child);
  return started;
}

const get = (url: string, token?: string) =>
  fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

function restProduce(rest: number, secretValue: string | undefined, batch = false) {
  const context = {
    kafka_topic: "shop",
    kafka_partition: 1,
    kafka_replication_factor: 1,
    es_index_prefix: index,
    app_max_tps: 1000,
    ...(secretValue === undefined ? {} : { app_secret: secretValue }),
  };
  const body = batch
    ? { context, items: [{ content: { message: "audit" } }] }
    : { context, content: { message: "audit" } };
  return fetch(`http://127.0.0.1:${rest}/${batch ? "produce_batch" : "produce"}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((res) => res.status);
}

describe("secrets audit of the built apps", () => {
  it("finds no app secret and no operator token in any log line or metric", async () => {
    writeFileSync(secretsFile, JSON.stringify({ [secrets.shop]: ["shop"], [secrets.spare]: ["spare"] }));
    const [rest, grpc, metrics, consumerMetrics] = (await freePorts(4)) as [number, number, number, number];
    const shared = {
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: `${prefix}events`,
    };
    const producer = startApp("producer", {
      ...shared,
      BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
      BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
      EXPORTER_PORT: `127.0.0.1:${metrics}`,
      BARITO_EXPORTER_TOKEN: secrets.producerToken,
      BARITO_PRODUCER_AUTH: "app-secret",
      BARITO_PRODUCER_AUTH_SECRETS_FILE: secretsFile,
      BARITO_PRODUCER_AUTH_SECRETS_RELOAD_INTERVAL: "200ms",
      BARITO_PRODUCER_AUTH_MAX_FAILURES: "12",
    });
    expect(
      await until(
        () =>
          get(`http://127.0.0.1:${metrics}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
      ),
    ).toBe(true);

    // Requests: right, wrong, foreign and missing secrets, over REST, Connect and gRPC.
    expect(await restProduce(rest, secrets.shop)).toBe(200);
    expect(await restProduce(rest, secrets.shop, true)).toBe(200);
    expect(await restProduce(rest, secrets.wrong)).toBe(401);
    expect(await restProduce(rest, secrets.spare)).toBe(403);
    expect(await restProduce(rest, undefined, true)).toBe(401);
    const rpcContext = { kafkaTopic: "shop", esIndexPrefix: index, appMaxTps: 1000, appSecret: secrets.wrong };
    const connect = createClient(
      Producer,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${rest}`, httpVersion: "1.1" }),
    );
    const grpcClient = createClient(Producer, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc}` }));
    await expect(connect.produce({ context: rpcContext, content: { message: "audit" } })).rejects.toThrow();
    await expect(grpcClient.produceBatch({ context: rpcContext, items: [{ content: {} }] })).rejects.toThrow();
    await expect(
      grpcClient.produce({ context: { ...rpcContext, appSecret: secrets.spare }, content: {} }),
    ).rejects.toThrow();
    // Into the lockout.
    for (let i = 0; i < 8; i++) await restProduce(rest, `${secrets.wrong}${i}`);
    expect(await restProduce(rest, secrets.shop)).toBe(429);

    // Operator endpoints: no token, a wrong one, the right one.
    expect((await get(`http://127.0.0.1:${metrics}/metrics`)).status).toBe(401);
    expect((await get(`http://127.0.0.1:${metrics}/metrics`, secrets.wrongToken)).status).toBe(401);
    const producerMetrics = await get(`http://127.0.0.1:${metrics}/metrics`, secrets.producerToken);
    expect(producerMetrics.status).toBe(200);
    const producerMetricsText = await producerMetrics.text();
    expect(producerMetricsText).toMatch(/barito_producer_auth_failures_total\{reason="locked_out"\} [1-9]/);

    // The secrets file: broken (the last good table stays, an error is logged), then rotated.
    writeFileSync(secretsFile, `{"${secrets.broken}": ["shop"], oops`);
    expect(await until(() => producer.output().includes("app secrets file not reloaded"), 10_000)).toBe(true);
    writeFileSync(secretsFile, JSON.stringify({ [secrets.rotated]: ["shop"] }));
    expect(await until(() => producer.output().includes("app secrets reloaded"), 10_000)).toBe(true);

    // The consumer indexes what the producer took, behind its own token.
    const consumer = startApp("consumer", {
      ...shared,
      BARITO_ELASTICSEARCH_URLS: opensearch,
      BARITO_KAFKA_GROUP_ID: `${prefix}group`,
      BARITO_CONSUMER_DLQ_TOPIC: `${prefix}dlq`,
      EXPORTER_PORT: `127.0.0.1:${consumerMetrics}`,
      BARITO_EXPORTER_TOKEN: secrets.consumerToken,
    });
    expect(
      await until(
        () =>
          get(`http://127.0.0.1:${consumerMetrics}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
      ),
    ).toBe(true);
    expect((await get(`http://127.0.0.1:${consumerMetrics}/metrics`, secrets.wrongToken)).status).toBe(401);
    expect(
      await until(async () => {
        const res = await fetch(`${opensearch}/${index}-*/_count`).catch(() => undefined);
        return res?.ok === true && ((await res.json()) as { count: number }).count >= 2;
      }, 30_000),
    ).toBe(true);
    const consumerMetricsAnswer = await get(`http://127.0.0.1:${consumerMetrics}/metrics`, secrets.consumerToken);
    expect(consumerMetricsAnswer.status).toBe(200);
    const consumerMetricsText = await consumerMetricsAnswer.text();

    producer.child.kill("SIGTERM");
    consumer.child.kill("SIGTERM");
    await Promise.all([producer.exited, consumer.exited]);

    // The configuration printed by --check-config, with the secrets inline.
    const checked = spawnSync(
      process.execPath,
      [join(repoRoot, "apps/producer/dist/main.js"), "producer", "--check-config"],
      {
        env: {
          ...process.env,
          NODE_ENV: "production",
          LOG_FORMAT: "json",
          BARITO_PRODUCER_AUTH: "app-secret",
          BARITO_PRODUCER_AUTH_SECRETS: JSON.stringify({ [secrets.inline]: ["shop"] }),
          BARITO_EXPORTER_TOKEN: secrets.producerToken,
        },
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(checked.status).toBe(0);
    // An invalid inline table is refused without quoting it.
    const refused = spawnSync(
      process.execPath,
      [join(repoRoot, "apps/producer/dist/main.js"), "producer", "--check-config"],
      {
        env: {
          ...process.env,
          BARITO_PRODUCER_AUTH: "app-secret",
          BARITO_PRODUCER_AUTH_SECRETS: `{"${secrets.inline}": "shop"}`,
        },
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(refused.status).toBe(2);

    const outputs = {
      "producer log": producer.output(),
      "consumer log": consumer.output(),
      "producer /metrics": producerMetricsText,
      "consumer /metrics": consumerMetricsText,
      "--check-config": checked.stdout + checked.stderr,
      "--check-config (refused)": refused.stdout + refused.stderr,
    };
    // The run did log, and did log the events that involve the secrets.
    expect(outputs["producer log"].split("\n").length).toBeGreaterThan(10);
    expect(outputs["producer log"]).toContain("[REDACTED]");
    expect(outputs["--check-config"]).toContain("[REDACTED]");
    expect(outputs["--check-config (refused)"]).toContain("BARITO_PRODUCER_AUTH_SECRETS");
    const found: string[] = [];
    for (const [where, text] of Object.entries(outputs)) {
      for (const [name, value] of Object.entries(secrets)) {
        // The random part alone: a secret cut or re-encoded (JSON escapes, URL encoding) still shows it.
        if (text.includes(value.slice(-36))) found.push(`${name} in ${where}`);
      }
    }
    expect(found).toEqual([]);
  }, 120_000);
});
