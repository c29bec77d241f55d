import { arbitraryExpositions, documentAfterTicks } from "@barito-flow/status-page/testing/collector";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { createProducerMetrics } from "./metrics.js";
import { createProducerStatus, createProducerStatusCollector } from "./status.js";

const kafkaUp = () => ({ ready: true, checks: { kafka: true, accepting: true } });

describe("producer status collector", () => {
  it("renders a fresh registry: zero rates, empty tables, Kafka's state", async () => {
    const metrics = createProducerMetrics("_logs");
    const source = createProducerStatus({ registry: metrics.registry, readiness: kafkaUp, limitIntervalMs: 10_000 });
    await source.tick();
    const doc = source.document();
    expect(doc.error).toBeUndefined();
    expect(doc.samples[0]?.v).toMatchObject({ "requests/s": 0, "logs/s": 0, "errors/s": 0 });
    const overview = doc.sections.find((s) => s.id === "overview");
    expect(overview?.kind === "cards" && overview.cards[0]).toEqual({ label: "Kafka", value: "reachable", tone: "ok" });
    for (const id of ["apps", "errors", "limits"]) {
      const table = doc.sections.find((s) => s.id === id);
      expect(table?.kind === "table" && table.rows).toEqual([]);
    }
  });

  it("turns the registry's counters into rates per app and errors by code", async () => {
    const metrics = createProducerMetrics("_logs");
    let now = 0;
    const collect = createProducerStatusCollector({
      read: () => metrics.registry.metrics(),
      readiness: () => ({ ready: false, checks: { kafka: false, kafkaError: "AUTHENTICATION_FAILED" } }),
      limits: () => [
        { key: "p_a_logs", limit: 100, used: 40, backend: "redis", at: 1_500, lastAllowed: true },
        { key: "p_old_logs", limit: 100, used: 90, backend: "local", at: -5_000, lastAllowed: false },
      ],
      limitIntervalMs: 5_000,
    });
    await collect(now);
    const observer = metrics.observer as Required<typeof metrics.observer>;
    observer.stored("p_a_logs", 20, 2_000, 0.004, "s-a");
    observer.stored("p_a_logs", 20, 2_000, 0.004, "s-a");
    observer.rateLimited("p_b_logs", 5, 100);
    observer.failed("p_a_logs", "send_log", 3);
    metrics.observeRequest("rest", "/produce_batch", "200", 0.004);
    metrics.observeRequest("rest", "/produce_batch", "429", 0.001);
    metrics.observeRequest("grpc", "ProduceBatch", "ok", 0.002);
    now = 2_000;
    const frame = await collect(now);
    expect(frame.values).toMatchObject({
      "requests/s": 1.5,
      "logs/s": 20,
      "errors/s": 0.5,
      "rate-limited logs/s": 2.5,
      "failed logs/s": 1.5,
      "logs/s p_a_logs": 20,
    });
    const table = (id: string) => {
      const section = frame.sections.find((s) => s.id === id);
      return section?.kind === "table" ? section.rows : [];
    };
    expect(table("apps")).toEqual([
      { topic: "p_a_logs", requestsPerSecond: 1, logsPerSecond: 20, logs: 40, limitedPerSecond: 0, limited: 0 },
      { topic: "p_b_logs", requestsPerSecond: 0, logsPerSecond: 0, logs: 0, limitedPerSecond: 2.5, limited: 5 },
    ]);
    expect(table("errors")).toEqual([
      { code: "send_log", where: "Kafka write", count: 3, perSecond: 1.5 },
      { code: "429", where: "rest /produce_batch", count: 1, perSecond: 0.5 },
    ]);
    expect(table("limits")).toEqual([
      { key: "p_a_logs", limit: 100, used: 40, percent: 40, backend: "redis", last: "1 s ago" },
      { key: "p_old_logs", limit: 100, used: 0, percent: 0, backend: "local", last: "7 s ago (rejected)" },
    ]);
    const overview = frame.sections[0];
    expect(overview?.kind === "cards" && overview.cards.slice(0, 2)).toEqual([
      { label: "Kafka", value: "unreachable", tone: "bad" },
      { label: "Kafka error", value: "AUTHENTICATION_FAILED", tone: "bad" },
    ]);
  });

  it("shows a cluster primary's worker counts instead of Kafka's probe", async () => {
    const collect = createProducerStatusCollector({
      read: async () => "",
      readiness: () => ({ ready: false, checks: { workers: 3, alive: 3, ready: 2 } }),
      limitIntervalMs: 10_000,
    });
    const frame = await collect(0);
    const overview = frame.sections[0];
    expect(overview?.kind === "cards" && overview.cards[0]).toEqual({
      label: "workers ready (Kafka reachable)",
      value: "2 / 3",
      tone: "bad",
    });
    const limits = frame.sections.find((s) => s.id === "limits");
    expect(limits?.kind === "table" && limits.empty).toContain("BARITO_RATE_LIMITER_OPT=REDIS");
  });

  it("never throws, whatever the exposition holds", async () => {
    const expositions = arbitraryExpositions(
      [
        "barito_producer_request_duration_seconds_count",
        "barito_producer_request_duration_seconds_bucket",
        "barito_producer_kafka_message_stored_total",
        "barito_producer_tps_exceeded_total",
        "barito_producer_send_to_kafka_time_second_count",
      ],
      ["topic", "le", "status", "error_type", "route"],
    );
    await fc.assert(
      fc.asyncProperty(expositions, async (texts) => {
        const doc = await documentAfterTicks(texts, (read) =>
          createProducerStatusCollector({ read, readiness: kafkaUp, limitIntervalMs: 10_000 }),
        );
        expect(doc.error).toBeUndefined();
        expect(() => JSON.stringify(doc)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
