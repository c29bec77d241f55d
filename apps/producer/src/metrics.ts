import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from "prom-client";
import { kafkaClientPathGauge } from "@barito-flow/kafka";
import type { AuthFailureReason } from "./auth/app-authenticator.js";
import type { ProduceObserver } from "./produce/producer-service.js";

/**
 * barito-flow's producer metric names (reference §12) plus request rate/latency by route and status.
 * `app_name` is the topic without the suffix, as in the Go original (the prefix is kept).
 */
export function createProducerMetrics(topicSuffix: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const stored = new Counter({
    name: "barito_producer_kafka_message_stored_total",
    help: "Logs written to Kafka (error_type empty) or failed (send_log, create_topic, send_create_topic_event)",
    labelNames: ["topic", "error_type"],
    registers: [registry],
  });
  const tpsExceeded = new Counter({
    name: "barito_producer_tps_exceeded_total",
    help: "Logs rejected by the rate limiter",
    labelNames: ["topic"],
    registers: [registry],
  });
  const sendTime = new Summary({
    name: "barito_producer_send_to_kafka_time_second",
    help: "Time until Kafka acknowledged a write",
    labelNames: ["topic"],
    percentiles: [0.5, 0.9, 0.99],
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [registry],
  });
  const clientFailed = new Counter({
    name: "barito_producer_kafka_client_failed",
    help: "Failed attempts to connect to Kafka at startup",
    registers: [registry],
  });
  const producedBytes = new Counter({
    name: "barito_producer_produced_total_log_bytes",
    help: "Protobuf bytes written to Kafka",
    labelNames: ["app_name"],
    registers: [registry],
  });
  const exceededBytes = new Counter({
    name: "barito_producer_tps_exceeded_log_bytes",
    help: "Protobuf bytes rejected by the rate limiter",
    labelNames: ["app_name"],
    registers: [registry],
  });
  const requests = new Histogram({
    name: "barito_producer_request_duration_seconds",
    help: "Requests by protocol, route and status (HTTP status for REST, gRPC/Connect code name otherwise)",
    labelNames: ["protocol", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "barito_producer_auth_failures_total",
    help: "Requests refused by BARITO_PRODUCER_AUTH=app-secret, by reason (missing_secret, unknown_secret, wrong_topic, locked_out, source_unavailable)",
    labelNames: ["reason"],
    registers: [registry],
  });
  const rateLimiterFallback = new Counter({
    name: "barito_producer_rate_limiter_fallback_total",
    help: "Switches of the Redis rate limiter to local limits because Redis was unreachable",
    registers: [registry],
  });

  // The in-flight budget's use, read at scrape time (summed over workers in a cluster).
  let inFlight = () => ({ bytes: 0, records: 0 });
  new Gauge({
    name: "barito_producer_inflight_bytes",
    help: "Bytes of requests taken and not yet answered (the in-flight cap's use, BARITO_PRODUCER_MAX_INFLIGHT_BYTES)",
    registers: [registry],
    collect() {
      this.set(inFlight().bytes);
    },
  });
  new Gauge({
    name: "barito_producer_inflight_records",
    help: "Kafka records of requests not yet answered (BARITO_PRODUCER_MAX_INFLIGHT_RECORDS)",
    registers: [registry],
    collect() {
      this.set(inFlight().records);
    },
  });

  new Gauge({ ...kafkaClientPathGauge("barito_producer"), registers: [registry] });
  const appName = (topic: string) =>
    topic.endsWith(topicSuffix) ? topic.slice(0, topic.length - topicSuffix.length) : topic;

  const observer: ProduceObserver = {
    rateLimited(topic, logs, bytes) {
      tpsExceeded.inc({ topic }, logs);
      exceededBytes.inc({ app_name: appName(topic) }, bytes);
    },
    stored(topic, logs, bytes, seconds) {
      stored.inc({ topic, error_type: "" }, logs);
      producedBytes.inc({ app_name: appName(topic) }, bytes);
      sendTime.observe({ topic }, seconds);
    },
    failed(topic, errorType, logs) {
      stored.inc({ topic, error_type: errorType }, logs);
    },
  };

  return {
    registry,
    observer,
    announcementFailed: (topic: string) => stored.inc({ topic, error_type: "send_create_topic_event" }),
    kafkaClientFailed: () => clientFailed.inc(),
    rateLimiterFallback: () => rateLimiterFallback.inc(),
    /** The reason only: never the secret, the topic or the address. */
    authFailed: (reason: AuthFailureReason) => authFailures.inc({ reason }),
    watchInFlight: (usage: () => { bytes: number; records: number }) => {
      inFlight = usage;
    },
    observeRequest: (protocol: string, route: string, status: string, seconds: number) =>
      requests.observe({ protocol, route, status }, seconds),
  };
}

export type ProducerMetrics = ReturnType<typeof createProducerMetrics>;

/**
 * In a cluster worker: answer the primary's metric requests with this registry (prom-client's cluster protocol),
 * so the primary's `/metrics` shows every worker's metrics aggregated.
 */
export function serveMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side listener; the instance itself is not needed.
  new AggregatorRegistry();
}
