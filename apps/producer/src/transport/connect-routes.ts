import { Code, type ConnectRouter, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Producer, type TimberCollection } from "@barito-flow/proto";
import { currentReservation } from "../produce/in-flight.js";
import { ProduceError, retryAfterSeconds } from "../produce/produce-error.js";
import type { ProducerService, RequestMeta } from "../produce/producer-service.js";
import { collectionFromWire, produceBatchWireMethod } from "./grpc-wire.js";

/** Metadata keys that carry the machine-readable part of an error over gRPC, Connect and gRPC-Web. */
export const errorMetadata = {
  code: "barito-error-code",
  retryAfter: "retry-after",
  details: "barito-error-details",
} as const;

const maxIdempotencyKeyLength = 256;

/** Refuses an over-long key rather than cutting it: two keys with a common prefix would collapse into one log. */
export function requestMeta(headers: Headers): RequestMeta {
  return requestMetaFromKey(headers.get("idempotency-key") ?? undefined);
}

/** The same from the header's raw value (Node joins repeated headers with ", ", as `Headers.get` does). */
export function requestMetaFromKey(header: string | string[] | undefined): RequestMeta {
  const key = (Array.isArray(header) ? header.join(", ") : header)?.trim();
  if (!key) return {};
  if (key.length > maxIdempotencyKeyLength) {
    throw ProduceError.invalid([
      { field: "Idempotency-Key", reason: `at most ${maxIdempotencyKeyLength} characters, got ${key.length}` },
    ]);
  }
  return { idempotencyKey: key };
}

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

/** One implementation of producer.Producer, served as gRPC, Connect and gRPC-Web. */
export function producerRoutes(service: ProducerService, onUnexpected: (err: unknown) => void) {
  async function call<T>(ctx: HandlerContext, run: (meta: RequestMeta) => Promise<T>): Promise<T> {
    try {
      const meta = requestMeta(ctx.requestHeader);
      const reservation = currentReservation.getStore();
      if (reservation !== undefined) meta.reservation = reservation;
      return await run(meta);
    } catch (err) {
      if (!(err instanceof ProduceError)) onUnexpected(err);
      throw toConnectError(err);
    }
  }
  const register = (router: ConnectRouter) =>
    router.service(Producer, {
      produce: (timber, ctx) => call(ctx, (meta) => service.produce(timber, meta)),
      produceBatch: (collection, ctx) => call(ctx, (meta) => service.produceBatch(collection, meta)),
    });
  return Object.assign(register, { call });
}

/**
 * ProduceBatch for the binary codecs (gRPC, Connect and gRPC-Web with protobuf), read by grpc-wire.ts instead of
 * protobuf-es's fromBinary. A request fromBinary cannot read fails as connect's own parser fails ("parse binary"),
 * which the RPC handler answers as INVALID_ARGUMENT.
 */
export function producerWireRoutes(service: ProducerService, onUnexpected: (err: unknown) => void) {
  const routes = producerRoutes(service, onUnexpected);
  return (router: ConnectRouter) =>
    router.rpc(produceBatchWireMethod, async (request, ctx) => {
      let collection: TimberCollection;
      try {
        collection = collectionFromWire(request);
      } catch (err) {
        throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.Internal);
      }
      return routes.call(ctx, (meta) => service.produceBatch(collection, meta));
    });
}
