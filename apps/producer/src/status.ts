import type { Readiness } from "@barito-flow/lifecycle";
import {
  type Card,
  createRateTracker,
  createStatusSource,
  createWindowedHistogram,
  formatNumber,
  histogramBuckets,
  inFamilies,
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
import type { LimitUse } from "./status-limits.js";

/** The metric families the page reads (all from metrics.ts); `read` need print no others. */
export const producerStatusMetrics = [
  "barito_producer_request_duration_seconds",
  "barito_producer_kafka_message_stored_total",
  "barito_producer_tps_exceeded_total",
  "barito_producer_send_to_kafka_time_second",
  "barito_producer_inflight_bytes",
  "barito_producer_inflight_records",
] as const;

export interface ProducerStatusOptions {
  /** The Prometheus text of (at least) `producerStatusMetrics`: the same registry `/metrics` prints. */
  read(): Promise<string>;
  /** Kafka reachability (`checks.kafka`), or a cluster primary's worker counts (`checks.ready` / `checks.workers`). */
  readiness(): Readiness;
  /** Per-key limits and window use; absent where this process does not make the rate-limit decisions. */
  limits?: () => LimitUse[];
  /** BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: a key not seen for longer shows its window as ended. */
  limitIntervalMs: number;
}

const chartedApps = 6;
const ok = (status: string) => status === "ok" || status.startsWith("2");

/**
 * The producer's status page: a collector for `createStatusSource` that turns the registry's counters into rates,
 * the request histogram into p50/p99 over the last minute, and adds Kafka's reachability and the rate-limit windows.
 */
export function createProducerStatusCollector(options: ProducerStatusOptions): (nowMs: number) => Promise<StatusFrame> {
  const rates = createRateTracker();
  const latency = createWindowedHistogram(60_000);

  return async (now) => {
    const samples = parseExposition(await options.read(), inFamilies(producerStatusMetrics));
    const requests = sumBy(samples, "barito_producer_request_duration_seconds_count", ["protocol", "route", "status"]);
    const stored = sumBy(samples, "barito_producer_kafka_message_stored_total", ["topic"], (l) => l.error_type === "");
    const failed = sumBy(samples, "barito_producer_kafka_message_stored_total", ["error_type"], (l) => !!l.error_type);
    const limited = sumBy(samples, "barito_producer_tps_exceeded_total", ["topic"]);
    // One successful Kafka write per request and topic: the summary's count is the per-topic request count.
    const writes = sumBy(samples, "barito_producer_send_to_kafka_time_second_count", ["topic"]);
    const errorCount = [...requests].reduce((sum, [key, n]) => (ok(key.split(" / ")[2] ?? "") ? sum : sum + n), 0);
    const counters = new Map<string, number>([
      ["requests", sumValues(requests)],
      ["errors", errorCount],
      ["logs", sumValues(stored)],
      ["failed", sumValues(failed)],
      ["limited", sumValues(limited)],
    ]);
    for (const [key, n] of requests) counters.set(`request:${key}`, n);
    for (const [topic, n] of stored) counters.set(`logs:${topic}`, n);
    for (const [topic, n] of writes) counters.set(`writes:${topic}`, n);
    for (const [topic, n] of limited) counters.set(`limited:${topic}`, n);
    for (const [type, n] of failed) counters.set(`failed:${type}`, n);
    const rate = rates.update(counters, now);
    const per = (key: string) => rate.get(key) ?? 0;

    latency.record(histogramBuckets(samples, "barito_producer_request_duration_seconds"), now);
    const p50 = latency.quantile(0.5);
    const p99 = latency.quantile(0.99);

    const topApps = topEntries(stored, chartedApps).map(([topic]) => topic);
    const values: Record<string, number> = {
      "requests/s": per("requests"),
      "logs/s": per("logs"),
      "errors/s": per("errors"),
      "rate-limited logs/s": per("limited"),
      "failed logs/s": per("failed"),
    };
    for (const topic of topApps) values[`logs/s ${topic}`] = per(`logs:${topic}`);

    const readiness = options.readiness();
    return {
      values,
      charts: [
        {
          id: "throughput",
          title: "Throughput (last 15 minutes)",
          unit: "/s",
          series: ["requests/s", "logs/s"],
          detail: topApps.map((topic) => `logs/s ${topic}`),
        },
        {
          id: "errors",
          title: "Errors (last 15 minutes)",
          unit: "/s",
          series: ["errors/s", "rate-limited logs/s", "failed logs/s"],
        },
      ],
      sections: [
        {
          kind: "cards",
          id: "overview",
          title: "Overview",
          cards: [
            ...kafkaCards(readiness),
            numberCard("requests/s", per("requests")),
            numberCard("logs/s", per("logs")),
            problemCard("errors/s", per("errors")),
            secondsCard("p50 latency (1 min)", p50),
            secondsCard("p99 latency (1 min)", p99),
            numberCard("in-flight bytes", total(samples, "barito_producer_inflight_bytes")),
          ],
        },
        appsTable(stored, writes, limited, per),
        errorsTable(requests, failed, per),
        limitsTable(options.limits?.(), options.limitIntervalMs, now),
      ],
    };
  };
}

function kafkaCards(readiness: Readiness): Card[] {
  const { checks } = readiness;
  if (typeof checks.kafka === "boolean") {
    const cards: Card[] = [
      { label: "Kafka", value: checks.kafka ? "reachable" : "unreachable", tone: checks.kafka ? "ok" : "bad" },
    ];
    if (typeof checks.kafkaError === "string")
      cards.push({ label: "Kafka error", value: checks.kafkaError, tone: "bad" });
    return cards;
  }
  // A cluster primary: each worker probes Kafka itself and is ready only while Kafka is reachable.
  const ready = Number(checks.ready ?? 0);
  const workers = Number(checks.workers ?? 0);
  return [
    {
      label: "workers ready (Kafka reachable)",
      value: `${formatNumber(ready)} / ${formatNumber(workers)}`,
      tone: ready === workers && workers > 0 ? "ok" : "bad",
    },
  ];
}

function appsTable(
  stored: ReadonlyMap<string, number>,
  writes: ReadonlyMap<string, number>,
  limited: ReadonlyMap<string, number>,
  per: (key: string) => number,
): Section {
  const topics = new Set([...stored.keys(), ...limited.keys(), ...writes.keys()]);
  const rows = [...topics].map((topic) => ({
    topic,
    requestsPerSecond: roundCell(per(`writes:${topic}`)),
    logsPerSecond: roundCell(per(`logs:${topic}`)),
    logs: stored.get(topic) ?? 0,
    limitedPerSecond: roundCell(per(`limited:${topic}`)),
    limited: limited.get(topic) ?? 0,
  }));
  rows.sort((a, b) => b.logsPerSecond - a.logsPerSecond || b.logs - a.logs);
  return tableSection({
    id: "apps",
    title: "Per app / topic (requests = Kafka writes)",
    columns: [
      textColumn("topic"),
      numberColumn("requestsPerSecond", "requests/s"),
      numberColumn("logsPerSecond", "logs/s"),
      numberColumn("logs"),
      numberColumn("limitedPerSecond", "limited/s"),
      numberColumn("limited", "limited logs"),
    ],
    rows,
    empty: "no logs received yet",
  });
}

function errorsTable(
  requests: ReadonlyMap<string, number>,
  failed: ReadonlyMap<string, number>,
  per: (key: string) => number,
): Section {
  const rows: Array<{ code: string; where: string; count: number; perSecond: number }> = [];
  for (const [key, count] of requests) {
    const [protocol = "", route = "", status = ""] = key.split(" / ");
    if (ok(status)) continue;
    rows.push({ code: status, where: `${protocol} ${route}`, count, perSecond: roundCell(per(`request:${key}`)) });
  }
  for (const [type, count] of failed) {
    rows.push({ code: type, where: "Kafka write", count, perSecond: roundCell(per(`failed:${type}`)) });
  }
  rows.sort((a, b) => b.count - a.count);
  return tableSection({
    id: "errors",
    title: "Errors by code",
    columns: [textColumn("code"), textColumn("where"), numberColumn("count"), numberColumn("perSecond", "/s")],
    rows,
    empty: "no errors",
  });
}

function limitsTable(uses: LimitUse[] | undefined, intervalMs: number, now: number): Section {
  const rows = (uses ?? []).map((use) => {
    const ended = now - use.at >= intervalMs;
    const used = ended ? 0 : use.used;
    return {
      key: use.key,
      limit: use.limit,
      used: used ?? null,
      percent: used === undefined || use.limit <= 0 ? null : roundCell((100 * used) / use.limit),
      backend: use.backend ?? null,
      last: `${formatNumber(Math.round((now - use.at) / 1000))} s ago${use.lastAllowed ? "" : " (rejected)"}`,
    };
  });
  return tableSection({
    id: "limits",
    title: "Rate limits (window use as of each key's last request)",
    columns: [
      textColumn("key"),
      numberColumn("limit", "limit/window"),
      numberColumn("used"),
      numberColumn("percent", "% used"),
      textColumn("backend"),
      textColumn("last", "last seen"),
    ],
    rows,
    empty: uses ? "no rate-limited requests yet" : "the workers' limiters decide (BARITO_RATE_LIMITER_OPT=REDIS)",
  });
}

/** The producer's status source on its own registry (a single process, or one that serves its metrics port). */
export function createProducerStatus(
  options: Omit<ProducerStatusOptions, "read"> & { registry: MetricsRegistry },
): StatusSource {
  const read = () => readFamilies(options.registry, producerStatusMetrics);
  return createStatusSource({
    title: "barito-flow producer",
    collect: createProducerStatusCollector({ ...options, read }),
  });
}
