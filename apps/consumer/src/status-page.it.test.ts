// The consumer's status page in a real browser (Debian's headless chromium through playwright-core) against the
// real local Kafka and OpenSearch: empty at first, then documents charted per index, lag per partition in a
// sortable table, the assignment and a dead letter by reason. Any console error, page error or request leaving the
// page's origin fails the test. The screenshot is a test artefact.
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import type { StatusDocument } from "@barito-flow/status-page";
import { chartPoints, openInChromium, tableRows } from "@barito-flow/status-page/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createConsumerAdapters } from "./adapters.js";
import { createConsumerApp } from "./app.js";
import { loadConsumerConfig } from "./config.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const opensearchUrl = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `cstatus${run}_`;
const topic = `${prefix}shop_logs`;
const dlqTopic = `${prefix}dlq`;
const indexPrefix = `cstatus${run}-shop`;
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return condition();
}

const context = { kafkaTopic: "shop", esIndexPrefix: indexPrefix, appMaxTps: 100 };
const timber = (i: number) =>
  Buffer.from(
    toBinary(
      TimberSchema,
      create(TimberSchema, { context, timestamp: "2026-03-04T05:06:07Z", content: { i } as never }),
    ),
  );

describe("consumer status page (chromium, real Kafka and OpenSearch)", () => {
  it("renders empty, then charts documents per index and lists lag, assignment and dead letters", async () => {
    const admin = createKafkaAdmin({ brokers: [brokers], clientId: `status-it-${run}` });
    const writer = createKafkaPublisher({ brokers: [brokers], clientId: `status-it-writer-${run}` });
    await Promise.all([admin.connect(), writer.connect()]);
    cleanups.push(async () => {
      await admin.deleteTopics([topic, dlqTopic, `${prefix}new_topic_events`]);
      await fetch(`${opensearchUrl}/${indexPrefix}-*`, { method: "DELETE" });
      await Promise.allSettled([writer.close(), admin.close()]);
    });
    await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });

    const config = loadConsumerConfig({
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_ELASTICSEARCH_URLS: opensearchUrl,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
      BARITO_KAFKA_GROUP_ID: `${prefix}group`,
      BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
      BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100",
      LOG_LEVEL: "silent",
    });
    const app = createConsumerApp({ config, logger: noopLogger, ...createConsumerAdapters(config, noopLogger) });
    const port = await app.listen({ host: "127.0.0.1", port: 0 });
    cleanups.push(() => app.stop(10_000));
    const statusUrl = `http://127.0.0.1:${port}/status`;

    const browser = await openInChromium(statusUrl);
    cleanups.push(() => browser.close());
    const { page } = browser;

    // Before the consumer even started: the page is up, with its empty states.
    await page.waitForSelector("#table-lag");
    expect(await page.textContent("#table-lag tbody")).toContain("no batch fetched yet");
    expect(await page.textContent("#table-assignment tbody")).toContain("no partition assigned");

    await app.start();
    const traffic = (async () => {
      for (let round = 0; round < 12; round++) {
        await writer.publish(
          topic,
          Array.from({ length: 20 }, (_, i) => ({ value: timber(round * 20 + i) })),
        );
        if (round === 1) await writer.publish(topic, [{ value: Buffer.from("not a timber") }]);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();

    const shown = await waitFor(async () => {
      if (browser.problems.length > 0) return true; // reported below
      const indices = await tableRows(page, "indices");
      const lag = await tableRows(page, "lag");
      const assigned = await tableRows(page, "assignment");
      const deadLetters = await tableRows(page, "deadletters");
      return (
        (await chartPoints(page, "throughput")).nonzero >= 2 &&
        (await chartPoints(page, "lag")).points >= 2 &&
        indices.some((row) => row[0]?.startsWith(indexPrefix) && Number(row[2]) > 0) &&
        lag.filter((row) => row[0] === topic).length === 2 &&
        assigned.filter((row) => row[0] === topic).length === 2 &&
        deadLetters.length > 0
      );
    }, 45_000);
    await traffic;
    const shot = join(tmpdir(), `barito-status-consumer-${run}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`consumer status page screenshot: ${shot}`);
    expect(browser.problems).toEqual([]);
    expect(shown).toBe(true);
    expect(await page.textContent("#section-overview")).toContain("OpenSearch");
    expect(await page.textContent("#section-redaction")).toContain("redaction is off");

    // The lag table sorts by partition, both ways.
    await page.click('#table-lag th[data-key="partition"]');
    const descending = (await tableRows(page, "lag")).filter((row) => row[0] === topic).map((row) => row[1]);
    await page.click('#table-lag th[data-key="partition"]');
    const ascending = (await tableRows(page, "lag")).filter((row) => row[0] === topic).map((row) => row[1]);
    expect([descending, ascending]).toEqual([
      ["1", "0"],
      ["0", "1"],
    ]);

    const doc = (await (await fetch(`${statusUrl}.json`)).json()) as StatusDocument;
    expect(doc.charts.map((chart) => chart.id)).toEqual(["throughput", "lag"]);
    expect(doc.samples.some((sample) => (sample.v["documents/s"] ?? 0) > 0)).toBe(true);
    expect(browser.problems).toEqual([]);
  }, 90_000);
});
