import { Code } from "@connectrpc/connect";

/** One violated rule, named by the request field it concerns (snake_case path, as clients send it). */
export interface FieldViolation {
  field: string;
  reason: string;
}

/**
 * Machine-readable error codes shared by every protocol. REST bodies carry them as `code`; gRPC/Connect carry the
 * matching `Code` plus the same string in the `barito-error-code` metadata.
 */
export type ProduceErrorCode =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "AUTH_LOCKED_OUT"
  | "AUTH_UNAVAILABLE"
  | "PAYLOAD_TOO_LARGE"
  | "RATE_LIMITED"
  | "KAFKA_UNAVAILABLE"
  | "NOT_ENOUGH_REPLICAS"
  | "PARTIALLY_WRITTEN"
  | "SHUTTING_DOWN"
  | "OVERLOADED"
  | "INTERNAL";

const connectCodes: Record<ProduceErrorCode, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  // BARITO_PRODUCER_AUTH=app-secret (auth/): no or an unknown context.app_secret; a known one on another app's topic.
  UNAUTHENTICATED: Code.Unauthenticated,
  PERMISSION_DENIED: Code.PermissionDenied,
  // Too many failed attempts from the caller's address: refused unchecked for a while (auth/failure-lockout.ts).
  AUTH_LOCKED_OUT: Code.ResourceExhausted,
  // The market could not say whether the secret is valid, and no earlier answer is cached.
  AUTH_UNAVAILABLE: Code.Unavailable,
  // Distinct from rate limiting (the Go original answered both with RESOURCE_EXHAUSTED).
  PAYLOAD_TOO_LARGE: Code.InvalidArgument,
  RATE_LIMITED: Code.ResourceExhausted,
  KAFKA_UNAVAILABLE: Code.Unavailable,
  // The partition's in-sync replicas are fewer than min.insync.replicas: Kafka refused the write, nothing was stored.
  NOT_ENOUGH_REPLICAS: Code.Unavailable,
  PARTIALLY_WRITTEN: Code.Unavailable,
  SHUTTING_DOWN: Code.Unavailable,
  // The in-flight cap (BARITO_PRODUCER_MAX_INFLIGHT_BYTES / _RECORDS) is full: this instance, not the app, is busy.
  OVERLOADED: Code.Unavailable,
  INTERNAL: Code.Internal,
};

const httpStatuses: Record<ProduceErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  AUTH_LOCKED_OUT: 429,
  AUTH_UNAVAILABLE: 503,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  KAFKA_UNAVAILABLE: 503,
  NOT_ENOUGH_REPLICAS: 503,
  PARTIALLY_WRITTEN: 503,
  SHUTTING_DOWN: 503,
  OVERLOADED: 503,
  INTERNAL: 500,
};

export class ProduceError extends Error {
  override readonly name = "ProduceError";
  readonly code: ProduceErrorCode;
  readonly details: readonly FieldViolation[];
  /** Set when retrying later can succeed; sent as `Retry-After` (seconds, rounded up) and in metadata. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ProduceErrorCode,
    message: string,
    options: { details?: FieldViolation[]; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }

  get connectCode(): Code {
    return connectCodes[this.code];
  }

  get httpStatus(): number {
    return httpStatuses[this.code];
  }

  get retriable(): boolean {
    return this.retryAfterMs !== undefined;
  }

  static invalid(details: FieldViolation[]): ProduceError {
    const first = details[0];
    const summary = first ? `${first.field}: ${first.reason}` : "invalid request";
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : "";
    return new ProduceError("INVALID_ARGUMENT", `${summary}${more}`, { details });
  }
}

export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
