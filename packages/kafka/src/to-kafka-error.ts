import { KafkaError, type KafkaErrorCode } from "./errors.js";

/**
 * librdkafka error codes (stable across librdkafka versions; negative = raised locally by the client, positive = the
 * broker's protocol error). Kept here as numbers so classification needs no native module; a test checks them
 * against the installed client.
 */
export const librdkafkaCodes = {
  ERR__DESTROY: -197,
  ERR__TRANSPORT: -195,
  ERR__RESOLVE: -193,
  ERR__MSG_TIMED_OUT: -192,
  ERR__UNKNOWN_PARTITION: -190,
  ERR__UNKNOWN_TOPIC: -188,
  ERR__ALL_BROKERS_DOWN: -187,
  ERR__INVALID_ARG: -186,
  ERR__TIMED_OUT: -185,
  ERR__QUEUE_FULL: -184,
  ERR__SSL: -181,
  ERR__REVOKE_PARTITIONS: -174,
  ERR__ASSIGN_PARTITIONS: -175,
  ERR__WAIT_COORD: -180,
  ERR__STATE: -172,
  ERR__NOT_IMPLEMENTED: -170,
  ERR__AUTHENTICATION: -169,
  ERR__TIMED_OUT_QUEUE: -166,
  ERR__INVALID_TYPE: -154,
  ERR__PURGE_QUEUE: -152,
  ERR__PURGE_INFLIGHT: -151,
  ERR__FATAL: -150,
  ERR__MAX_POLL_EXCEEDED: -147,
  ERR__ASSIGNMENT_LOST: -142,
  ERR_UNKNOWN: -1,
  ERR_UNKNOWN_TOPIC_OR_PART: 3,
  ERR_INVALID_MSG_SIZE: 4,
  ERR_LEADER_NOT_AVAILABLE: 5,
  ERR_NOT_LEADER_FOR_PARTITION: 6,
  ERR_REQUEST_TIMED_OUT: 7,
  ERR_BROKER_NOT_AVAILABLE: 8,
  ERR_MSG_SIZE_TOO_LARGE: 10,
  ERR_NETWORK_EXCEPTION: 13,
  ERR_COORDINATOR_LOAD_IN_PROGRESS: 14,
  ERR_COORDINATOR_NOT_AVAILABLE: 15,
  ERR_NOT_COORDINATOR: 16,
  ERR_TOPIC_EXCEPTION: 17,
  ERR_RECORD_LIST_TOO_LARGE: 18,
  ERR_NOT_ENOUGH_REPLICAS: 19,
  ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ERR_ILLEGAL_GENERATION: 22,
  ERR_UNKNOWN_MEMBER_ID: 25,
  ERR_REBALANCE_IN_PROGRESS: 27,
  ERR_TOPIC_AUTHORIZATION_FAILED: 29,
  ERR_GROUP_AUTHORIZATION_FAILED: 30,
  ERR_CLUSTER_AUTHORIZATION_FAILED: 31,
  ERR_TOPIC_ALREADY_EXISTS: 36,
  ERR_INVALID_PARTITIONS: 37,
  ERR_INVALID_REPLICATION_FACTOR: 38,
  ERR_INVALID_CONFIG: 40,
  ERR_POLICY_VIOLATION: 44,
  ERR_KAFKA_STORAGE_ERROR: 56,
  ERR_SASL_AUTHENTICATION_FAILED: 58,
  ERR_INVALID_RECORD: 87,
  ERR_THROTTLING_QUOTA_EXCEEDED: 89,
  ERR_UNKNOWN_TOPIC_ID: 100,
} as const;

const c = librdkafkaCodes;

const classification = new Map<number, { code: KafkaErrorCode; retriable: boolean }>([
  [c.ERR_MSG_SIZE_TOO_LARGE, { code: "MESSAGE_TOO_LARGE", retriable: false }],
  [c.ERR_RECORD_LIST_TOO_LARGE, { code: "MESSAGE_TOO_LARGE", retriable: false }],
  [c.ERR_INVALID_MSG_SIZE, { code: "MESSAGE_TOO_LARGE", retriable: false }],
  // A topic can be missing only for a moment (just created, metadata not yet propagated), so callers may retry.
  [c.ERR_UNKNOWN_TOPIC_OR_PART, { code: "TOPIC_NOT_FOUND", retriable: true }],
  [c.ERR__UNKNOWN_TOPIC, { code: "TOPIC_NOT_FOUND", retriable: true }],
  [c.ERR__UNKNOWN_PARTITION, { code: "TOPIC_NOT_FOUND", retriable: true }],
  [c.ERR_UNKNOWN_TOPIC_ID, { code: "TOPIC_NOT_FOUND", retriable: true }],
  [c.ERR_TOPIC_ALREADY_EXISTS, { code: "TOPIC_ALREADY_EXISTS", retriable: false }],
  [c.ERR__TRANSPORT, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR__RESOLVE, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR__ALL_BROKERS_DOWN, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_BROKER_NOT_AVAILABLE, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_LEADER_NOT_AVAILABLE, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_NOT_LEADER_FOR_PARTITION, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_NETWORK_EXCEPTION, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_COORDINATOR_LOAD_IN_PROGRESS, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_COORDINATOR_NOT_AVAILABLE, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_NOT_COORDINATOR, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR__WAIT_COORD, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_KAFKA_STORAGE_ERROR, { code: "BROKER_UNAVAILABLE", retriable: true }],
  [c.ERR_NOT_ENOUGH_REPLICAS, { code: "NOT_ENOUGH_REPLICAS", retriable: true }],
  [c.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, { code: "NOT_ENOUGH_REPLICAS", retriable: true }],
  [c.ERR__MSG_TIMED_OUT, { code: "TIMEOUT", retriable: true }],
  [c.ERR__TIMED_OUT, { code: "TIMEOUT", retriable: true }],
  [c.ERR__TIMED_OUT_QUEUE, { code: "TIMEOUT", retriable: true }],
  [c.ERR_REQUEST_TIMED_OUT, { code: "TIMEOUT", retriable: true }],
  [c.ERR__QUEUE_FULL, { code: "QUEUE_FULL", retriable: true }],
  [c.ERR_THROTTLING_QUOTA_EXCEEDED, { code: "QUEUE_FULL", retriable: true }],
  [c.ERR_REBALANCE_IN_PROGRESS, { code: "REBALANCE_IN_PROGRESS", retriable: true }],
  [c.ERR_ILLEGAL_GENERATION, { code: "REBALANCE_IN_PROGRESS", retriable: true }],
  [c.ERR_UNKNOWN_MEMBER_ID, { code: "REBALANCE_IN_PROGRESS", retriable: true }],
  [c.ERR__ASSIGNMENT_LOST, { code: "REBALANCE_IN_PROGRESS", retriable: true }],
  [c.ERR__MAX_POLL_EXCEEDED, { code: "REBALANCE_IN_PROGRESS", retriable: true }],
  [c.ERR__AUTHENTICATION, { code: "AUTHENTICATION_FAILED", retriable: false }],
  [c.ERR_SASL_AUTHENTICATION_FAILED, { code: "AUTHENTICATION_FAILED", retriable: false }],
  [c.ERR__SSL, { code: "AUTHENTICATION_FAILED", retriable: false }],
  [c.ERR_TOPIC_AUTHORIZATION_FAILED, { code: "AUTHORIZATION_FAILED", retriable: false }],
  [c.ERR_GROUP_AUTHORIZATION_FAILED, { code: "AUTHORIZATION_FAILED", retriable: false }],
  [c.ERR_CLUSTER_AUTHORIZATION_FAILED, { code: "AUTHORIZATION_FAILED", retriable: false }],
  [c.ERR__INVALID_ARG, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR__INVALID_TYPE, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_INVALID_PARTITIONS, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_INVALID_REPLICATION_FACTOR, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_INVALID_CONFIG, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_POLICY_VIOLATION, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_TOPIC_EXCEPTION, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR_INVALID_RECORD, { code: "INVALID_ARGUMENT", retriable: false }],
  [c.ERR__STATE, { code: "INVALID_STATE", retriable: false }],
  [c.ERR__NOT_IMPLEMENTED, { code: "INVALID_STATE", retriable: false }],
  [c.ERR__DESTROY, { code: "CLOSED", retriable: true }],
  [c.ERR__PURGE_QUEUE, { code: "CLOSED", retriable: true }],
  [c.ERR__PURGE_INFLIGHT, { code: "CLOSED", retriable: true }],
  [c.ERR__FATAL, { code: "FATAL", retriable: false }],
]);

/** Classifies a librdkafka numeric error code. Unknown codes are `UNKNOWN`, not retriable. */
export function classifyLibrdkafkaCode(code: number): { code: KafkaErrorCode; retriable: boolean } {
  return classification.get(code) ?? { code: "UNKNOWN", retriable: false };
}

function numericCode(error: Record<string, unknown>): number | undefined {
  for (const field of ["code", "errno"]) {
    const value = error[field];
    if (typeof value === "number" && Number.isInteger(value)) return value;
  }
  return undefined;
}

function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string") {
    return (value as { message: string }).message;
  }
  if (typeof value === "string") return value;
  return "unknown Kafka client failure";
}

/**
 * Turns anything a Kafka client threw (KafkaJSError, LibrdKafkaError, KafkaJSAggregateError, plain Error, string)
 * into a `KafkaError`. A `KafkaError` is returned unchanged. `context` prefixes the message ("publish to logs").
 */
export function toKafkaError(error: unknown, context?: string): KafkaError {
  if (error instanceof KafkaError) return error;
  const prefix = context ? `${context}: ` : "";

  // KafkaJSAggregateError (createTopics, ...) carries the real causes in `errors`.
  if (typeof error === "object" && error !== null && Array.isArray((error as { errors?: unknown }).errors)) {
    const inner = (error as { errors: unknown[] }).errors.find((e) => typeof e === "object" && e !== null);
    if (inner !== undefined) {
      const classified = toKafkaError(inner, context);
      return new KafkaError(classified.code, classified.message, {
        retriable: classified.retriable,
        librdkafkaCode: classified.librdkafkaCode,
        cause: error,
      });
    }
  }

  if (typeof error === "object" && error !== null) {
    const code = numericCode(error as Record<string, unknown>);
    // ERR_UNKNOWN says nothing; the message text below may still classify it.
    if (code !== undefined && code !== c.ERR_UNKNOWN) {
      const classified = classifyLibrdkafkaCode(code);
      return new KafkaError(classified.code, `${prefix}${messageOf(error)}`, {
        retriable: classified.retriable,
        librdkafkaCode: code,
        cause: error,
      });
    }
  }

  const message = messageOf(error);
  // Some client failures carry no code, only librdkafka's text.
  const byText: Array<[RegExp, KafkaErrorCode, boolean]> = [
    // Before "timed out": a consumer whose credentials are refused reports "authentication failure" at connect.
    [/authentication fail|sasl authentication/i, "AUTHENTICATION_FAILED", false],
    [/timed? ?out/i, "TIMEOUT", true],
    [/too large/i, "MESSAGE_TOO_LARGE", false],
    [/queue (is )?full/i, "QUEUE_FULL", true],
    [/unknown topic|topic.*(does not exist|not found)/i, "TOPIC_NOT_FOUND", true],
    [/disconnected|all broker|connection refused|transport/i, "BROKER_UNAVAILABLE", true],
  ];
  for (const [pattern, code, retriable] of byText) {
    if (pattern.test(message)) return new KafkaError(code, `${prefix}${message}`, { retriable, cause: error });
  }
  return new KafkaError("UNKNOWN", `${prefix}${message}`, { retriable: false, cause: error });
}
