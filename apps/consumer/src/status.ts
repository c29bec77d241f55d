import { redactText } from "@barito-flow/logger";
import type { SinkHealth } from "@barito-flow/opensearch-sink";
import {
  bucketQuantile,
  createRateTracker,
  createStatusSource,
  formatNumber,
  formatSeconds,
  histogramBuckets,
  parseExposition,
  readFamilies,
  type Section,
  type StatusFrame,
  type StatusSource,
  sumBy,
  topEntries,
  total,
} from "@barito-flow/status-page";
import type { RulesSourceStatus } from "./redaction/index.js";

type RulesState = Pick<RulesSourceStatus, "kind" | "loaded"> & Partial<RulesSourceStatus>;

/** The metric families the page reads (metrics.ts and redaction/metrics.ts). */
export const consumerStatusMetrics = [
  "barito_consumer_kafka_message_incoming_total",
  "barito_consumer_log_stored_total",
  "barito_consumer_bulk_duration_seconds",
  "barito_consumer_bulk_retried_items_total",
  "barito_consumer_dead_lettered_total",
  "barito_consumer_lag",
  "barito_redaction_status",
  "barito_consumer_redaction_rules_rejected_total",
  "barito_consumer_redaction_rules_load_errors_total",
] as const;

export interface ConsumerStatusOptions {
  /** The Prometheus text of (at least) `consumerStatusMetrics`: the registry `/metrics` prints. */
  read(): Promise<string>;
  sinkHealth(): SinkHealth;
  rules(): RulesState;
  /** The partitions assigned to this process, over all its groups. */
  assignment(): Array<{ topic: string; partition: number }>;
}

const chartedSeries = 6;

/**
 * The consumer's status page: documents per index and lag per partition from the registry's counters and gauges,
 * the bulk latency histogram as a distribution, and OpenSearch's state, the redaction rules and the assignment from
 * the app itself.
 */
export function createConsumerStatusCollector(options: ConsumerStatusOptions): (nowMs: number) => Promise<StatusFrame> {
  const rates = createRateTracker();
  const keep = (name: string) => consumerStatusMetrics.some((family) => name.startsWith(family));

  return async (now) => {
    const samples = parseExposition(await options.read(), keep);
    const indexed = sumBy(samples, "barito_consumer_log_stored_total", ["index"], (l) => l.result !== "rejected");
    const rejected = total(samples, "barito_consumer_log_stored_total", (l) => l.result === "rejected");
    const incoming = total(samples, "barito_consumer_kafka_message_incoming_total");
    const retried = total(samples, "barito_consumer_bulk_retried_items_total");
    const deadLetters = sumBy(samples, "barito_consumer_dead_lettered_total", ["reason"]);
    const lagByPartition = sumBy(samples, "barito_consumer_lag", ["topic", "partition"]);
    const lagByTopic = sumBy(samples, "barito_consumer_lag", ["topic"]);

    const counters = new Map<string, number>([
      ["documents", sum(indexed)],
      ["records", incoming],
      ["retried", retried],
      ["deadLettered", sum(deadLetters)],
    ]);
    for (const [index, n] of indexed) counters.set(`index:${index}`, n);
    for (const [reason, n] of deadLetters) counters.set(`dlq:${reason}`, n);
    const rate = rates.update(counters, now);
    const per = (key: string) => rate.get(key) ?? 0;

    const topIndices = topEntries(indexed, chartedSeries).map(([index]) => index);
    const topLagging = topEntries(lagByTopic, chartedSeries).map(([topic]) => topic);
    const values: Record<string, number> = {
      "documents/s": per("documents"),
      "records/s": per("records"),
      "dead letters/s": per("deadLettered"),
      "lag (records)": sum(lagByPartition),
    };
    for (const index of topIndices) values[`documents/s ${index}`] = per(`index:${index}`);
    for (const topic of topLagging) values[`lag ${topic}`] = lagByTopic.get(topic) ?? 0;

    const buckets = histogramBuckets(samples, "barito_consumer_bulk_duration_seconds");
    const health = options.sinkHealth();
    const rules = options.rules();
    let assigned: Array<{ topic: string; partition: number }> = [];
    try {
      assigned = options.assignment();
    } catch {
      // A consumer in the middle of disconnecting has no assignment to show.
    }

    return {
      values,
      charts: [
        {
          id: "throughput",
          title: "Throughput (last 15 minutes)",
          unit: "/s",
          series: ["documents/s", "records/s", "dead letters/s"],
          detail: topIndices.map((index) => `documents/s ${index}`),
        },
        {
          id: "lag",
          title: "Lag (last 15 minutes)",
          unit: "records",
          series: ["lag (records)"],
          detail: topLagging.map((topic) => `lag ${topic}`),
        },
      ],
      sections: [
        {
          kind: "cards",
          id: "overview",
          title: "Overview",
          cards: [
            {
              label: "OpenSearch",
              value: health.state === "ok" ? "ok" : "outage (retrying)",
              tone: health.state === "ok" ? "ok" : "bad",
            },
            {
              label: "failed bulk requests in a row",
              value: formatNumber(health.consecutiveFailures),
              tone: health.consecutiveFailures > 0 ? "warn" : "ok",
            },
            ...(health.lastErrorCode
              ? [{ label: "last error", value: health.lastErrorCode, tone: "bad" as const }]
              : []),
            { label: "documents/s", value: formatNumber(per("documents")) },
            { label: "lag (records)", value: formatNumber(sum(lagByPartition)) },
            { label: "retried items", value: formatNumber(retried), tone: retried > 0 ? "warn" : "ok" },
            { label: "rejected documents", value: formatNumber(rejected), tone: rejected > 0 ? "warn" : "ok" },
            { label: "bulk p50", value: formatSeconds(bucketQuantile(buckets, 0.5)) },
            { label: "bulk p99", value: formatSeconds(bucketQuantile(buckets, 0.99)) },
          ],
        },
        indicesTable(indexed, per),
        lagTable(lagByPartition),
        bulkTable(buckets),
        deadLettersTable(deadLetters, per),
        rulesSection(rules, samples),
        assignmentTable(assigned),
      ],
    };
  };
}

function sum(values: ReadonlyMap<string, number>): number {
  let all = 0;
  for (const value of values.values()) all += value;
  return all;
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
}

function indicesTable(indexed: ReadonlyMap<string, number>, per: (key: string) => number): Section {
  const rows = [...indexed].map(([index, documents]) => ({
    index,
    perSecond: round(per(`index:${index}`)),
    documents,
  }));
  rows.sort((a, b) => b.perSecond - a.perSecond || b.documents - a.documents);
  return {
    kind: "table",
    id: "indices",
    title: "Documents per index (indexed and duplicates)",
    columns: [
      { key: "index", label: "index" },
      { key: "perSecond", label: "documents/s", numeric: true },
      { key: "documents", label: "documents", numeric: true },
    ],
    rows,
    empty: "nothing indexed yet",
  };
}

function lagTable(lag: ReadonlyMap<string, number>): Section {
  const rows = [...lag].map(([key, records]) => {
    const cut = key.lastIndexOf(" / ");
    return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 3)), lag: records };
  });
  rows.sort((a, b) => b.lag - a.lag || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    kind: "table",
    id: "lag",
    title: "Lag per topic and partition (at the last fetched batch; click a heading to sort)",
    columns: [
      { key: "topic", label: "topic" },
      { key: "partition", label: "partition", numeric: true },
      { key: "lag", label: "lag", numeric: true },
    ],
    rows,
    empty: "no batch fetched yet",
  };
}

function bulkTable(buckets: ReadonlyArray<{ le: number; count: number }>): Section {
  const all = buckets.at(-1)?.count ?? 0;
  let below = 0;
  const rows = buckets.map((bucket) => {
    const row = {
      bucket: bucket.le === Number.POSITIVE_INFINITY ? "> last bound" : `≤ ${formatSeconds(bucket.le)}`,
      requests: Math.max(0, bucket.count - below),
      cumulative: all > 0 ? round((100 * bucket.count) / all) : null,
    };
    below = bucket.count;
    return row;
  });
  return {
    kind: "table",
    id: "bulk",
    title: "Bulk request latency (since start)",
    columns: [
      { key: "bucket", label: "duration" },
      { key: "requests", label: "requests", numeric: true },
      { key: "cumulative", label: "cumulative %", numeric: true },
    ],
    rows: all > 0 ? rows : [],
    empty: "no bulk request yet",
  };
}

function deadLettersTable(deadLetters: ReadonlyMap<string, number>, per: (key: string) => number): Section {
  const rows = [...deadLetters].map(([reason, records]) => ({
    reason,
    records,
    perSecond: round(per(`dlq:${reason}`)),
  }));
  rows.sort((a, b) => b.records - a.records);
  return {
    kind: "table",
    id: "deadletters",
    title: "Dead letters by reason",
    columns: [
      { key: "reason", label: "reason" },
      { key: "records", label: "records", numeric: true },
      { key: "perSecond", label: "/s", numeric: true },
    ],
    rows,
    empty: "no dead letters",
  };
}

function rulesSection(rules: RulesState, samples: ReturnType<typeof parseExposition>): Section {
  const inForce = sumBy(samples, "barito_redaction_status", ["app_name", "type"]);
  const rejected = sumBy(samples, "barito_consumer_redaction_rules_rejected_total", ["app_name", "type"]);
  const keys = new Set([...inForce.keys(), ...rejected.keys()]);
  const rows = [...keys].map((key) => {
    const [app = "", type = ""] = key.split(" / ");
    return { app, type, rules: inForce.get(key) ?? 0, rejected: rejected.get(key) ?? 0 };
  });
  const loadErrors = total(samples, "barito_consumer_redaction_rules_load_errors_total");
  const state = rules.kind === "none" ? "off" : rules.loaded ? "loaded" : "loading";
  const facts = [
    `source: ${rules.kind}`,
    `state: ${state}`,
    ...(rules.lastLoadAt ? [`last load: ${rules.lastLoadAt.toISOString()}`] : []),
    `load errors: ${formatNumber(loadErrors)}`,
    // A source's error can carry its URL; the logger's rules take any credentials out of it.
    ...(rules.lastError ? [`last error: ${redactText(rules.lastError)}`] : []),
  ];
  return {
    kind: "table",
    id: "redaction",
    title: `Redaction rules (${facts.join(", ")})`,
    columns: [
      { key: "app", label: "app" },
      { key: "type", label: "type" },
      { key: "rules", label: "rules in force", numeric: true },
      { key: "rejected", label: "rejected", numeric: true },
    ],
    rows,
    empty: rules.kind === "none" ? "redaction is off (no rules configured)" : "no rules in force",
  };
}

function assignmentTable(assigned: ReadonlyArray<{ topic: string; partition: number }>): Section {
  const rows = assigned
    .map(({ topic, partition }) => ({ topic, partition }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    kind: "table",
    id: "assignment",
    title: `Assigned partitions (${rows.length})`,
    columns: [
      { key: "topic", label: "topic" },
      { key: "partition", label: "partition", numeric: true },
    ],
    rows,
    empty: "no partition assigned (yet)",
  };
}

/** The consumer's status source on its registry. */
export function createConsumerStatus(
  options: Omit<ConsumerStatusOptions, "read"> & {
    registry: { getSingleMetricAsString(name: string): Promise<string> };
  },
): StatusSource {
  return createStatusSource({
    title: "barito-flow consumer",
    collect: createConsumerStatusCollector({
      ...options,
      read: () => readFamilies(options.registry, consumerStatusMetrics),
    }),
  });
}
