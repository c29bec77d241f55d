import { arbitraryExpositions, documentAfterTicks } from "@barito-flow/status-page/testing/collector";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { createConsumerMetrics } from "./metrics.js";
import { createRedactionMetrics } from "./redaction/metrics.js";
import { createConsumerStatus, createConsumerStatusCollector } from "./status.js";

const healthy = () => ({ state: "ok" as const, consecutiveFailures: 0 });
const noRules = () => ({ kind: "none" as const, loaded: true });

function tables(frame: { sections: Array<{ id: string; kind: string; rows?: unknown[] }> }) {
  return Object.fromEntries(frame.sections.filter((s) => s.kind === "table").map((s) => [s.id, s.rows]));
}

describe("consumer status collector", () => {
  it("renders a fresh registry: zero rates, empty tables", async () => {
    const metrics = createConsumerMetrics();
    const source = createConsumerStatus({
      registry: metrics.registry,
      sinkHealth: healthy,
      rules: noRules,
      assignment: () => [],
    });
    await source.tick();
    const doc = source.document();
    expect(doc.error).toBeUndefined();
    expect(doc.samples[0]?.v).toEqual({ "documents/s": 0, "records/s": 0, "dead letters/s": 0, "lag (records)": 0 });
    expect(tables(doc)).toEqual({ indices: [], lag: [], bulk: [], deadletters: [], redaction: [], assignment: [] });
  });

  it("shows documents per index, lag per partition, bulk latency, dead letters, rules and the assignment", async () => {
    const metrics = createConsumerMetrics();
    const redaction = createRedactionMetrics(metrics.registry);
    let now = 0;
    const collect = createConsumerStatusCollector({
      read: () => metrics.registry.metrics(),
      sinkHealth: () => ({ state: "degraded", consecutiveFailures: 4, lastErrorCode: "CONNECTION_REFUSED" }),
      rules: () => ({
        kind: "market",
        loaded: true,
        lastLoadAt: new Date(0),
        lastError: "GET https://user:pw@market.example/rules failed",
      }),
      assignment: () => [
        { topic: "t_logs", partition: 1 },
        { topic: "t_logs", partition: 0 },
      ],
    });
    await collect(now);
    metrics.stored.inc({ index: "app-2026.01.01", status: "201", result: "indexed", error: "" }, 30);
    metrics.stored.inc({ index: "app-2026.01.01", status: "409", result: "duplicate", error: "" }, 10);
    metrics.stored.inc({ index: "app-2026.01.01", status: "400", result: "rejected", error: "mapper" }, 2);
    metrics.incoming.inc({ topic: "t_logs" }, 42);
    metrics.deadLettered.inc({ reason: "mapping_conflict" }, 2);
    metrics.lag.set({ topic: "t_logs", partition: "0" }, 5);
    metrics.lag.set({ topic: "t_logs", partition: "1" }, 7);
    metrics.bulkLatency.observe({ ok: "true" }, 0.02);
    metrics.bulkLatency.observe({ ok: "false" }, 3);
    redaction.ruleCount.set({ app_name: "app", type: "StaticRules" }, 2);
    now = 2_000;
    const frame = await collect(now);
    expect(frame.values).toMatchObject({
      "documents/s": 20,
      "records/s": 21,
      "dead letters/s": 1,
      "lag (records)": 12,
      "documents/s app-2026.01.01": 20,
      "lag t_logs": 12,
    });
    const rows = tables(frame);
    expect(rows.indices).toEqual([{ index: "app-2026.01.01", perSecond: 20, documents: 40 }]);
    expect(rows.lag).toEqual([
      { topic: "t_logs", partition: 1, lag: 7 },
      { topic: "t_logs", partition: 0, lag: 5 },
    ]);
    expect(rows.deadletters).toEqual([{ reason: "mapping_conflict", records: 2, perSecond: 1 }]);
    expect(rows.redaction).toEqual([{ app: "app", type: "StaticRules", rules: 2, rejected: 0 }]);
    expect(rows.assignment).toEqual([
      { topic: "t_logs", partition: 0 },
      { topic: "t_logs", partition: 1 },
    ]);
    expect(rows.bulk).toContainEqual({ bucket: "≤ 25 ms", requests: 1, cumulative: 50 });
    expect(rows.bulk).toContainEqual({ bucket: "≤ 5 s", requests: 1, cumulative: 100 });
    const redactionTitle = frame.sections.find((s) => s.id === "redaction")?.title ?? "";
    expect(redactionTitle).toContain("source: market, state: loaded");
    expect(redactionTitle).not.toContain("pw@");
    const overview = frame.sections[0];
    expect(overview?.kind === "cards" && overview.cards.slice(0, 3)).toEqual([
      { label: "OpenSearch", value: "outage (retrying)", tone: "bad" },
      { label: "failed bulk requests in a row", value: "4", tone: "warn" },
      { label: "last error", value: "CONNECTION_REFUSED", tone: "bad" },
    ]);
  });

  it("shows no assignment rather than failing when the consumer is going away", async () => {
    const collect = createConsumerStatusCollector({
      read: async () => "",
      sinkHealth: healthy,
      rules: noRules,
      assignment: () => {
        throw new Error("Client is disconnected");
      },
    });
    expect(tables(await collect(0)).assignment).toEqual([]);
  });

  it("never throws, whatever the exposition holds", async () => {
    const expositions = arbitraryExpositions(
      [
        "barito_consumer_log_stored_total",
        "barito_consumer_lag",
        "barito_consumer_bulk_duration_seconds_bucket",
        "barito_consumer_dead_lettered_total",
        "barito_redaction_status",
      ],
      ["index", "result", "topic", "partition", "le", "reason", "app_name", "type"],
    );
    await fc.assert(
      fc.asyncProperty(expositions, async (texts) => {
        const doc = await documentAfterTicks(texts, (read) =>
          createConsumerStatusCollector({ read, sinkHealth: healthy, rules: noRules, assignment: () => [] }),
        );
        expect(doc.error).toBeUndefined();
        expect(() => JSON.stringify(doc)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
