import { Code, ConnectError } from "@connectrpc/connect";
import { ProduceError, retryAfterSeconds } from "../produce/produce-error.js";

/** Metadata keys that carry the machine-readable part of an error over gRPC, Connect and gRPC-Web. */
export const errorMetadata = {
  code: "barito-error-code",
  retryAfter: "retry-after",
  details: "barito-error-details",
} as const;

/**
 * JSON with every character above ASCII escaped: a header value must be Latin-1, and a field path can hold any key
 * a client sent (`content["ключ"]`). The escapes are standard JSON, so `JSON.parse` gives the same details back.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ProduceError) {
    const metadata = new Headers({ [errorMetadata.code]: err.code });
    if (err.retryAfterMs !== undefined)
      metadata.set(errorMetadata.retryAfter, String(retryAfterSeconds(err.retryAfterMs)));
    if (err.details.length > 0) metadata.set(errorMetadata.details, asciiJson(err.details));
    return new ConnectError(err.message, err.connectCode, metadata);
  }
  if (err instanceof ConnectError) return err;
  return new ConnectError("internal error", Code.Internal, new Headers({ [errorMetadata.code]: "INTERNAL" }));
}

/** The answer for a request above the size limit; the same error the produce path gives for oversize records. */
export function payloadTooLarge(readMaxBytes: number): ConnectError {
  return toConnectError(
    new ProduceError(
      "PAYLOAD_TOO_LARGE",
      `request message larger than ${readMaxBytes} bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)`,
      { details: [{ field: "body", reason: `at most ${readMaxBytes} bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)` }] },
    ),
  );
}
