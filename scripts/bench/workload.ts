// What every benchmark sends: ~500 B of JSON content per log, unique per index `i`, for an app context whose rate
// limit is far out of reach (the benchmarks measure the pipeline, not the limiter).
import { randomUUID } from "node:crypto";

export function content(i: number): Record<string, unknown> {
  return {
    message: `GET /api/v1/orders/${i} 200 ${"lorem ipsum dolor sit amet ".repeat(12)}`,
    level: "info",
    service: "checkout",
    host: "web-17.example.internal",
    trace_id: randomUUID(),
    duration_ms: 12.5,
    i,
  };
}

/** The producer request's context of a benchmark's app: its own topic (3 partitions) and index prefix. */
export function benchContext(topic: string, indexPrefix: string) {
  return {
    kafka_topic: topic,
    kafka_partition: 3,
    kafka_replication_factor: 1,
    es_index_prefix: indexPrefix,
    app_max_tps: 100_000_000,
  };
}
