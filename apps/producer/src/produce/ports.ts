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
  take(key: string, cost: number, tpsLimit: number): Promise<RateDecision>;
}

/** What the app-secret check needs of a request (auth/app-authenticator.ts). */
export interface AuthRequest {
  /** `context.app_secret` as sent; "" when absent. */
  secret: string;
  /** `context.kafka_topic` as sent, before BARITO_KAFKA_TOPIC_PREFIX / _SUFFIX. */
  topic: string;
  /** The caller's address (the socket's remote address), for the failed-attempt lockout. */
  source: string | undefined;
}

export interface Authenticator {
  /**
   * Returns (or resolves) when the request may write; throws (or rejects with) a ProduceError otherwise:
   * UNAUTHENTICATED, PERMISSION_DENIED, AUTH_LOCKED_OUT or AUTH_UNAVAILABLE. Synchronous whenever the answer is known
   * without I/O, so the common case adds no turn of the event loop.
   */
  check(request: AuthRequest): void | Promise<void>;
}
