import { errors } from "@opensearch-project/opensearch";
import { redactText } from "@barito-flow/logger";
import { SinkError } from "./errors.js";

function serverErrorType(body: unknown): { type?: string; reason?: string } {
  if (typeof body !== "object" || body === null) return {};
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return { reason: error };
  if (typeof error !== "object" || error === null) return {};
  const { type, reason } = error as { type?: unknown; reason?: unknown };
  return {
    ...(typeof type === "string" ? { type } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
  };
}

/**
 * Whether a whole request answered with `status` may succeed later unchanged. 401/403 count as retriable: they are an
 * operational problem (credentials, roles) that gets fixed outside the documents, and dropping data for it is worse
 * than waiting.
 */
export function isRetriableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}

/**
 * The client's errors carry `meta.connection` (whose URL holds the basic-auth credentials) and request headers, so the
 * original is never kept as `cause`: loggers that serialise causes would leak them.
 */
function sanitisedCause(error: unknown): Error {
  const cause = new Error(redactText(error instanceof Error ? String(error.message) : String(error)));
  cause.name = error instanceof Error ? error.name : "Error";
  return cause;
}

/**
 * The `SinkError` of a whole request the server answered with an error status; `body` is its parsed JSON (or text),
 * `fallback` the detail used when the body names no error.
 */
export function httpStatusError(
  status: number,
  body: unknown,
  operation: string,
  fallback: string,
  cause?: Error,
): SinkError {
  const { type, reason } = serverErrorType(body);
  const code =
    status === 429
      ? "TOO_MANY_REQUESTS"
      : status === 401 || status === 403
        ? "AUTH_FAILED"
        : status >= 500
          ? "SERVER_ERROR"
          : status === 408
            ? "TIMEOUT"
            : "REQUEST_REJECTED";
  const detail = redactText(reason ?? type ?? fallback);
  return new SinkError(code, `${operation} failed with HTTP ${status}: ${detail}`, {
    retriable: isRetriableStatus(status),
    status,
    ...(type ? { errorType: type } : {}),
    ...(cause ? { cause } : {}),
  });
}

/** Maps anything thrown by opensearch-js (or by the network) to a `SinkError` with no secret in its message. */
export function classifyRequestError(error: unknown, operation: string): SinkError {
  if (error instanceof SinkError) return error;
  // String(): opensearch-js takes a ResponseError's message from the body's error.type, which need not be a string.
  const message = redactText(error instanceof Error ? String(error.message) : String(error));

  if (error instanceof errors.ResponseError) {
    return httpStatusError(error.statusCode ?? 0, error.body, operation, message, sanitisedCause(error));
  }
  if (error instanceof errors.TimeoutError) {
    return new SinkError("TIMEOUT", `${operation} timed out`, { retriable: true, cause: sanitisedCause(error) });
  }
  if (error instanceof errors.RequestAbortedError || (error instanceof Error && error.name === "AbortError")) {
    return new SinkError("ABORTED", `${operation} was aborted`, { retriable: true, cause: sanitisedCause(error) });
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.NoLivingConnectionsError) {
    return new SinkError("CONNECTION_FAILED", `${operation}: cannot reach OpenSearch (${message})`, {
      retriable: true,
      cause: sanitisedCause(error),
    });
  }
  if (error instanceof errors.DeserializationError) {
    return new SinkError("BAD_RESPONSE", `${operation}: unreadable response body`, {
      retriable: true,
      cause: sanitisedCause(error),
    });
  }
  // Unknown failures (proxies, sockets) are most likely transient; retrying is the safe default for a log pipeline.
  return new SinkError("CONNECTION_FAILED", `${operation} failed: ${message}`, {
    retriable: true,
    cause: sanitisedCause(error),
  });
}
