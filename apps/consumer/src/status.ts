import { redactText } from "@barito-flow/logger";
import type { SinkHealth } from "@barito-flow/opensearch-sink";
import {
  bucketQuantile,
  createRateTracker,
  createStatusSource,
  formatNumber,
  formatSeconds,
  histogramBuckets,
  inFamilies,
  type MetricSample,
  type MetricsRegistry,
  numberCard,
  numberColumn,
  parseExposition,
  problemCard,
  readFamilies,
  roundCell,
  type Section,
  type StatusFrame,
  type StatusSource,
  secondsCard,
  sumBy,
  sumValues,
  tableSection,
  textColumn,
  topEntries,
  total,
} from "@barito-flow/status-page";
import type { RulesSourceStatus } from "./redaction/index.js";

type RulesState = Pick<RulesSourceStatus, "kind" | "loaded"> & Partial<RulesSourceStatus>;
type TopicPartition = { topic: string; partition: number };

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
  assignment(): TopicPartition[];
}

const chartedSeries = 6;

/**
 * The consumer's status page: documents per index and lag per partition from the registry's counters and gauges,
 * the bulk latency histogram as a distribution, and OpenSearch's state, the redaction rules and the assignment from
 * the app itself.
 */
export function createConsumerStatusCollector(options: ConsumerStatusOptions): (nowMs: number) => Promise<StatusFrame> {
  const rates = createRateTracker();

  return async (now) => {
    const samples = parseExposition(await options.read(), inFamilies(consumerStatusMetrics));
    const indexed = sumBy(samples, "barito_consumer_log_stored_total", ["index"], (l) => l.result !== "rejected");
    const rejected = total(samples, "barito_consumer_log_stored_total", (l) => l.result === "rejected");
    const incoming = total(samples, "barito_consumer_kafka_message_incoming_total");
    const retried = total(samples, "barito_consumer_bulk_retried_items_total");
    const deadLetters = sumBy(samples, "barito_consumer_dead_lettered_total", ["reason"]);
    const lagByPartition = sumBy(samples, "barito_consumer_lag", ["topic", "partition"]);
    const lagByTopic = sumBy(samples, "barito_consumer_lag", ["topic"]);

    const counters = new Map<string, number>([
      ["documents", sumValues(indexed)],
      ["records", incoming],
      ["retried", retried],
      ["deadLettered", sumValues(deadLetters)],
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
      "lag (records)": sumValues(lagByPartition),
    };
    for (const index of topIndices) values[`documents/s ${index}`] = per(`index:${index}`);
    for (const topic of topLagging) values[`lag ${topic}`] = lagByTopic.get(topic) ?? 0;

    const buckets = histogramBuckets(samples, "barito_consumer_bulk_duration_seconds");
    const health = options.sinkHealth();
    const rules = options.rules();
    let assigned: TopicPartition[] = [];
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
            problemCard("failed bulk requests in a row", health.consecutiveFailures),
            ...(health.lastErrorCode
              ? [{ label: "last error", value: health.lastErrorCode, tone: "bad" as const }]
              : []),
            numberCard("documents/s", per("documents")),
            numberCard("lag (records)", sumValues(lagByPartition)),
            problemCard("retried items", retried),
            problemCard("rejected documents", rejected),
            secondsCard("bulk p50", bucketQuantile(buckets, 0.5)),
            secondsCard("bulk p99", bucketQuantile(buckets, 0.99)),
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

/** Topics by name, each one's partitions by number. */
function byTopicAndPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function indicesTable(indexed: ReadonlyMap<string, number>, per: (key: string) => number): Section {
  const rows = [...indexed].map(([index, documents]) => ({
    index,
    perSecond: roundCell(per(`index:${index}`)),
    documents,
  }));
  rows.sort((a, b) => b.perSecond - a.perSecond || b.documents - a.documents);
  return tableSection({
    id: "indices",
    title: "Documents per index (indexed and duplicates)",
    columns: [textColumn("index"), numberColumn("perSecond", "documents/s"), numberColumn("documents")],
    rows,
    empty: "nothing indexed yet",
  });
}

function lagTable(lag: ReadonlyMap<string, number>): Section {
  const rows = [...lag].map(([key, records]) => {
    const cut = key.lastIndexOf(" / ");
    return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 3)), lag: records };
  });
  rows.sort((a, b) => b.lag - a.lag || byTopicAndPartition(a, b));
  return tableSection({
    id: "lag",
    title: "Lag per topic and partition (at the last fetched batch; click a heading to sort)",
    columns: [textColumn("topic"), numberColumn("partition"), numberColumn("lag")],
    rows,
    empty: "no batch fetched yet",
  });
}

function bulkTable(buckets: ReadonlyArray<{ le: number; count: number }>): Section {
  const all = buckets.at(-1)?.count ?? 0;
  let below = 0;
  const rows = buckets.map((bucket) => {
    const row = {
      bucket: bucket.le === Number.POSITIVE_INFINITY ? "> last bound" : `≤ ${formatSeconds(bucket.le)}`,
      requests: Math.max(0, bucket.count - below),
      cumulative: all > 0 ? roundCell((100 * bucket.count) / all) : null,
    };
    below = bucket.count;
    return row;
  });
  return tableSection({
    id: "bulk",
    title: "Bulk request latency (since start)",
    columns: [textColumn("bucket", "duration"), numberColumn("requests"), numberColumn("cumulative", "cumulative %")],
    rows: all > 0 ? rows : [],
    empty: "no bulk request yet",
  });
}

function deadLettersTable(deadLetters: ReadonlyMap<string, number>, per: (key: string) => number): Section {
  const rows = [...deadLetters].map(([reason, records]) => ({
    reason,
    records,
    perSecond: roundCell(per(`dlq:${reason}`)),
  }));
  rows.sort((a, b) => b.records - a.records);
  return tableSection({
    id: "deadletters",
    title: "Dead letters by reason",
    columns: [textColumn("reason"), numberColumn("records"), numberColumn("perSecond", "/s")],
    rows,
    empty: "no dead letters",
  });
}

function rulesSection(rules: RulesState, samples: readonly MetricSample[]): Section {
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
  return tableSection({
    id: "redaction",
    title: `Redaction rules (${facts.join(", ")})`,
    columns: [textColumn("app"), textColumn("type"), numberColumn("rules", "rules in force"), numberColumn("rejected")],
    rows,
    empty: rules.kind === "none" ? "redaction is off (no rules configured)" : "no rules in force",
  });
}

function assignmentTable(assigned: readonly TopicPartition[]): Section {
  const rows = assigned.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicAndPartition);
  return tableSection({
    id: "assignment",
    title: `Assigned partitions (${rows.length})`,
    columns: [textColumn("topic"), numberColumn("partition")],
    rows,
    empty: "no partition assigned (yet)",
  });
}

/** The consumer's status source on its registry. */
export function createConsumerStatus(
  options: Omit<ConsumerStatusOptions, "read"> & { registry: MetricsRegistry },
): StatusSource {
  const read = () => readFamilies(options.registry, consumerStatusMetrics);
  return createStatusSource({
    title: "barito-flow consumer",
    collect: createConsumerStatusCollector({ ...options, read }),
  });
}
