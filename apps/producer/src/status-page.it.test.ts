// The producer's status page in a real browser (Debian's headless chromium through playwright-core) against the
// real local Kafka: empty at first, then, with traffic, a chart with points and the app's rows in the tables. Any
// console error, page error or request leaving the page's origin fails the test. The screenshot is a test artefact.
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StatusDocument } from "@barito-flow/status-page";
import { chartPoints, openInChromium, tableRows } from "@barito-flow/status-page/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { startInProcessProducer } from "./testing/in-process.js";
import { restContext, until } from "./testing/requests.js";

const run = randomUUID().slice(0, 8);
const prefix = `status${run}_`;
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const batch = (app: string, tps: number, n: number) => ({
  context: restContext(app, tps, { app_secret: "never-shown" }),
  items: Array.from({ length: n }, (_, i) => ({ content: { i } })),
});

describe("producer status page (chromium, real Kafka)", () => {
  it("renders empty, then charts the traffic and lists the app, its errors and its limit", async () => {
    const producer = await startInProcessProducer({
      env: { BARITO_KAFKA_TOPIC_PREFIX: prefix, BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events` },
      clientId: `status-it-${run}`,
      deliveryTimeoutMs: 5_000,
      adminTimeouts: { requestTimeoutMs: 3_000, pingTimeoutMs: 1_000 },
    });
    cleanups.push(async () => {
      await producer.admin.deleteTopics([`${prefix}orders_logs`, `${prefix}limited_logs`, `${prefix}new_topic_events`]);
      await producer.close();
    });
    const rest = producer.urls.rest;
    const statusUrl = `${producer.urls.metrics}/status`;

    const browser = await openInChromium(statusUrl);
    cleanups.push(() => browser.close());
    const { page } = browser;

    // Before any traffic: the page is up, with its empty states.
    await page.waitForSelector("#table-apps");
    expect(await page.textContent("#table-apps tbody")).toContain("no logs received yet");
    expect(await page.textContent("#section-overview")).toContain("Kafka");

    const orders = `${prefix}orders_logs`;
    const limited = `${prefix}limited_logs`;
    const traffic = (async () => {
      for (let i = 0; i < 12; i++) {
        expect((await post(`${rest}/produce_batch`, batch("orders", 1000, 20))).status).toBe(200);
        await post(`${rest}/produce_batch`, batch("limited", 1, 4)); // 10 per window: 200, 200, then 429s
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();

    const shown = await until(
      async () => {
        if (browser.problems.length > 0) return true; // reported below
        const apps = await tableRows(page, "apps");
        const limits = await tableRows(page, "limits");
        const errors = await tableRows(page, "errors");
        return (
          (await chartPoints(page, "throughput")).nonzero >= 2 &&
          apps.some((row) => row[0] === orders && Number(row[3]) > 0) &&
          limits.some((row) => row[0] === limited) &&
          errors.some((row) => row[0] === "429")
        );
      },
      30_000,
      250,
    );
    await traffic;
    const shot = join(tmpdir(), `barito-status-producer-${run}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`producer status page screenshot: ${shot}`);

    expect(browser.problems).toEqual([]);
    expect(shown).toBe(true);
    const limits = await tableRows(page, "limits");
    const limitRow = limits.find((row) => row[0] === limited);
    expect(limitRow?.[1]).toBe("10"); // 1 log/s × 10 s
    expect(Number(limitRow?.[2])).toBeGreaterThan(0);
    expect(await page.textContent("body")).not.toContain("never-shown");
    expect(Number(await page.getAttribute("#chart-throughput", "data-series"))).toBeGreaterThanOrEqual(2);

    // Sorting by a heading reorders the rows (ascending logs first: the rate-limited app, with fewer logs).
    await page.click('#table-apps th[data-key="logs"]');
    await page.click('#table-apps th[data-key="logs"]');
    expect((await tableRows(page, "apps"))[0]?.[0]).toBe(limited);

    const doc = (await (await fetch(`${statusUrl}.json`)).json()) as StatusDocument;
    expect(doc.charts.map((chart) => chart.id)).toEqual(["throughput", "errors"]);
    expect(doc.samples.some((sample) => (sample.v["logs/s"] ?? 0) > 0)).toBe(true);
    expect(browser.problems).toEqual([]);
  }, 90_000);
});
