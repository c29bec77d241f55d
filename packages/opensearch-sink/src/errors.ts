const sinkErrorBrand = Symbol.for("@barito-flow/opensearch-sink/error");

/**
 * Machine-readable reasons a sink call failed. `retriable` on the error says whether trying the same thing again
 * later can succeed; the codes are stable and safe to use as metric labels.
 */
export type SinkErrorCode =
  | "CONNECTION_FAILED"
  | "TIMEOUT"
  | "TOO_MANY_REQUESTS"
  | "SERVER_ERROR"
  | "AUTH_FAILED"
  | "REQUEST_REJECTED"
  | "BAD_RESPONSE"
  | "ABORTED"
  | "INVALID_OPERATION"
  | "INVALID_CONFIG"
  | "SINK_CLOSED";

export interface SinkErrorOptions {
  retriable: boolean;
  /** HTTP status of the whole request, when the server answered. */
  status?: number;
  /** Server-side error type (`es_rejected_execution_exception`, ...), when the server sent one. */
  errorType?: string;
  /** Path of the offending input field (`"index"`, `"tls.ca"`, `"nodes[1]"`) for validation errors. */
  field?: string;
  cause?: unknown;
}

/**
 * The one error type thrown by this package. Brand-checked (not prototype-checked) so that two copies of the package
 * in one process still recognise each other's errors.
 */
export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly retriable: boolean;
  readonly status: number | undefined;
  readonly errorType: string | undefined;
  readonly field: string | undefined;

  constructor(code: SinkErrorCode, message: string, options: SinkErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SinkError";
    this.code = code;
    this.retriable = options.retriable;
    this.status = options.status;
    this.errorType = options.errorType;
    this.field = options.field;
    Object.defineProperty(this, sinkErrorBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[sinkErrorBrand] === true;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      retriable: this.retriable,
      status: this.status,
      errorType: this.errorType,
      field: this.field,
      message: this.message,
    };
  }
}

/** Rejection of `add()` / pending operations once the sink is closed and can no longer deliver them. */
export class SinkClosedError extends SinkError {
  constructor(message = "bulk sink is closed; the operation was not delivered") {
    super("SINK_CLOSED", message, { retriable: true });
    this.name = "SinkClosedError";
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof SinkError && value.code === "SINK_CLOSED";
  }
}

export function isSinkError(value: unknown): value is SinkError {
  return value instanceof SinkError;
}
