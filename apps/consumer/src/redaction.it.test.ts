// Redaction on the real local Kafka and OpenSearch: barito's rules from REDACTOR_RULES_MAP are applied per
// es_index_prefix (else "default") before indexing; an invalid rule is left out and counted, not fatal.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { ConsumerApp } from "./app.js";
import { createStackConsumer, stackConfig } from "./testing/in-process.js";
import { kafkaClients, opensearch } from "./testing/stack.js";
import { encodeTimber } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const prefix = `rd${run}_`;
const topic = `${prefix}pay_logs`;
const cardApp = `rd${run}-pay`;
const otherApp = `rd${run}-other`;
const dlqTopic = `rd${run}_dlq`;
const kafka = kafkaClients(`redaction-it-${run}`);
const { admin, writer } = kafka;
let app: ConsumerApp | undefined;

const rules = {
  default: { StaticRules: [{ Name: "EMAIL", Regex: "[a-z]+@[a-z]+\\.[a-z]+" }] },
  [cardApp]: {
    JsonPathRules: [{ Name: "CARD", Path: "\\.card$", HintCharsEnd: 4 }],
    StaticRules: [
      { Name: "BROKEN", Regex: "([unclosed" },
      { Name: "PHONE", Regex: "\\d{3}-\\d{4}" },
    ],
  },
};

const timber = (esIndexPrefix: string, content: Record<string, unknown>) =>
  encodeTimber({ kafkaTopic: "pay", esIndexPrefix }, "2026-05-06T07:08:09Z", content);

async function search(index: string): Promise<Array<Record<string, unknown>>> {
  await fetch(`${opensearch}/${index}-*/_refresh`, { method: "POST" });
  const res = await fetch(`${opensearch}/${index}-*/_search?size=10`);
  const body = (await res.json()) as { hits?: { hits: Array<{ _source: Record<string, unknown> }> } };
  return (body.hits?.hits ?? []).map((hit) => hit._source);
}

async function waitForDocs(index: string, count: number): Promise<Array<Record<string, unknown>>> {
  const until = Date.now() + 30_000;
  for (;;) {
    const docs = await search(index);
    if (docs.length >= count || Date.now() > until) return docs;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  await kafka.connect();
  await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
});

afterAll(async () => {
  await app?.stop(5_000).catch(() => undefined);
  await fetch(`${opensearch}/${cardApp}-*,${otherApp}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, dlqTopic]).catch(() => undefined);
  await kafka.close();
});

describe("redaction (real Kafka and OpenSearch)", () => {
  it("masks documents with the rules of their es_index_prefix, else default, before they are indexed", async () => {
    const config = stackConfig({
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: `rd${run}-group`,
      BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
      REDACTOR_RULES_MAP: JSON.stringify(rules),
    });
    app = createStackConsumer(config);
    const port = await app.listen({ host: "127.0.0.1", port: 0 });
    await writer.publish(topic, [
      {
        value: timber(cardApp, {
          user: "joe",
          card: "4111111111111111",
          note: "call 555-1234 or joe@mail.io",
          amount: 42.5,
        }),
      },
      { value: timber(otherApp, { note: "call 555-1234 or joe@mail.io", list: ["ann@mail.io", "bob"], count: 7 }) },
    ]);
    await app.start();

    const [card] = await waitForDocs(cardApp, 1);
    // The app's own rules replace default ones: its e-mail stays, its phone and card are masked.
    expect(card).toEqual({
      user: "joe",
      card: "[CARD REDACTED]1111",
      note: "call [PHONE REDACTED] or joe@mail.io",
      amount: 42.5,
      "@timestamp": "2026-05-06T07:08:09Z",
    });
    const [other] = await waitForDocs(otherApp, 1);
    expect(other).toEqual({
      note: "call 555-1234 or [EMAIL REDACTED]",
      list: ["[EMAIL REDACTED]", "bob"],
      count: 7,
      "@timestamp": "2026-05-06T07:08:09Z",
    });

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`barito_redaction_status{app_name="${cardApp}",type="JsonPathRules"} 1`);
    expect(metrics).toContain(`barito_redaction_status{app_name="${cardApp}",type="StaticRules"} 1`);
    expect(metrics).toContain(
      `barito_consumer_redaction_rules_rejected_total{app_name="${cardApp}",type="StaticRules",code="invalid_regex"} 1`,
    );
    expect(metrics).toMatch(
      new RegExp(`barito_consumer_redact_produced_total_log_bytes\\{app_name="${otherApp}"\\} \\d+`),
    );
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: object };
    expect(ready.checks).toMatchObject({ redactionRules: "loaded" });
  }, 60_000);
});
