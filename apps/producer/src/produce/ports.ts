// What the produce path needs from the outside world. The real adapters come from @barito-flow/kafka and
// @barito-flow/rate-limit; they satisfy these shapes structurally, and unit tests use small fakes.

export interface OutgoingRecord {
  value: Uint8Array;
  headers?: Record<string, string | Buffer>;
}

export interface LogPublisher {
  /** Resolves only when Kafka acknowledged every record; rejects with a KafkaError-like `{code, retriable}`. */
  publish(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** False while Kafka is known to be unreachable: requests then fail fast with 503 instead of timing out. */
  isConnected(): boolean;
}

export interface TopicAdmin {
  topicExists(topic: string): Promise<boolean>;
  createTopic(spec: { topic: string; partitions?: number; replicationFactor?: number }): Promise<"created" | "exists">;
}

export interface RateDecision {
  allowed: boolean;
  retryAfterMs: number;
  /** Logs one window admits (`tps × interval`): a request costing more can never be admitted. */
  limit: number;
}

export interface RateLimiter {
  /** `caller`: the verified client certificate's identity (mTLS), for a limiter that keys or logs by caller. */
  take(key: string, cost: number, tpsLimit: number, caller?: string): Promise<RateDecision>;
}
