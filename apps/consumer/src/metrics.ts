import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from "prom-client";
import { kafkaClientPathGauge } from "@barito-flow/kafka";

/**
 * barito-flow's consumer metric names (reference §12). Unlike the Go original, `status` holds the HTTP status of
 * the bulk item and `result` the outcome (indexed, duplicate, rejected): the Go code had the two swapped.
 */
export function createConsumerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ ...kafkaClientPathGauge("barito_consumer"), registers: [registry] });
  const metrics = {
    registry,
    incoming: new Counter({
      name: "barito_consumer_kafka_message_incoming_total",
      help: "Kafka records consumed",
      labelNames: ["topic"],
      registers: [registry],
    }),
    stored: new Counter({
      name: "barito_consumer_log_stored_total",
      help: "Documents by final bulk outcome: status = HTTP status, result = indexed|duplicate|rejected, error = error type",
      labelNames: ["index", "status", "result", "error"],
      registers: [registry],
    }),
    convertError: new Counter({
      name: "barito_consumer_timber_convert_error",
      help: "Records that could not be turned into documents (sent to the dead-letter topic)",
      labelNames: ["index"],
      registers: [registry],
    }),
    bulkTime: new Summary({
      name: "barito_consumer_bulk_process_time_second",
      help: "Duration of bulk requests",
      percentiles: [0.5, 0.9, 0.99],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers: [registry],
    }),
    bulkLatency: new Histogram({
      name: "barito_consumer_bulk_duration_seconds",
      help: "Duration of bulk requests",
      labelNames: ["ok"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    retried: new Counter({
      name: "barito_consumer_bulk_retried_items_total",
      help: "Bulk items retried after 429/5xx/timeouts",
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: "barito_consumer_dead_lettered_total",
      help: "Records written to the dead-letter topic, by reason",
      labelNames: ["reason"],
      registers: [registry],
    }),
    lag: new Gauge({
      name: "barito_consumer_lag",
      help: "Records behind the partition's high watermark at the last fetched batch",
      labelNames: ["topic", "partition"],
      registers: [registry],
    }),
  };
  return metrics;
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;
