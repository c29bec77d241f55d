const kafkaErrorBrand = Symbol.for("@barito-flow/kafka/error");

/**
 * Machine-readable reasons a Kafka call failed. Stable strings, safe as metric labels and for mapping to HTTP/gRPC
 * statuses (e.g. `QUEUE_FULL` / `BROKER_UNAVAILABLE` / `TIMEOUT` -> 503, `MESSAGE_TOO_LARGE` -> 400).
 */
export type KafkaErrorCode =
  | "MESSAGE_TOO_LARGE"
  | "TOPIC_NOT_FOUND"
  | "TOPIC_ALREADY_EXISTS"
  | "BROKER_UNAVAILABLE"
  | "NOT_ENOUGH_REPLICAS"
  | "TIMEOUT"
  | "QUEUE_FULL"
  | "REBALANCE_IN_PROGRESS"
  | "COMMIT_FAILED"
  | "AUTHENTICATION_FAILED"
  | "AUTHORIZATION_FAILED"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "INVALID_STATE"
  | "CLOSED"
  | "FATAL"
  | "UNKNOWN";

export interface KafkaErrorOptions {
  retriable: boolean;
  /** Numeric librdkafka error code (`ERR_MSG_SIZE_TOO_LARGE` = 10, `ERR__MSG_TIMED_OUT` = -192, ...), when known. */
  librdkafkaCode?: number;
  /** Path of the offending input (`"brokers[1]"`, `"records[3].value"`, `"sasl.mechanism"`) for validation errors. */
  field?: string;
  cause?: unknown;
}

/**
 * The one error type this package throws or rejects with. Brand-checked (not prototype-checked) so that two copies of
 * the package in one process still recognise each other's errors.
 */
export class KafkaError extends Error {
  readonly code: KafkaErrorCode;
  readonly retriable: boolean;
  readonly librdkafkaCode: number | undefined;
  readonly field: string | undefined;

  constructor(code: KafkaErrorCode, message: string, options: KafkaErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KafkaError";
    this.code = code;
    this.retriable = options.retriable;
    this.librdkafkaCode = options.librdkafkaCode;
    this.field = options.field;
    Object.defineProperty(this, kafkaErrorBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[kafkaErrorBrand] === true;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      retriable: this.retriable,
      librdkafkaCode: this.librdkafkaCode,
      field: this.field,
      message: this.message,
    };
  }
}

export function isKafkaError(value: unknown): value is KafkaError {
  return value instanceof KafkaError;
}

export function invalidConfig(field: string, message: string): KafkaError {
  return new KafkaError("INVALID_CONFIG", `${field}: ${message}`, { retriable: false, field });
}

export function invalidArgument(field: string, message: string): KafkaError {
  return new KafkaError("INVALID_ARGUMENT", `${field}: ${message}`, { retriable: false, field });
}
