import { type DescMessage, fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { Producer } from "@barito-flow/proto";
import { Code, type ConnectRouter, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ProduceError } from "../produce/produce-error.js";
import type { ProducerService, RequestMeta } from "../produce/producer-service.js";
import { toConnectError } from "./connect-errors.js";
import { collectionFromWire, WireBytesSchema } from "./grpc-wire.js";
import { requestMeta } from "./request-meta.js";
import { fieldOfDecodeError } from "./rest-body.js";
import { currentRpcCall, type MessageCheck } from "./rpc-body.js";

/** One implementation of producer.Producer, served as Connect, gRPC-Web and gRPC (besides grpc-fast.ts). */
export function producerRoutes(service: ProducerService, onUnexpected: (err: unknown) => void) {
  async function call<T>(ctx: HandlerContext, run: (meta: RequestMeta) => Promise<T>): Promise<T> {
    try {
      const meta = requestMeta(ctx.requestHeader);
      const call = currentRpcCall.getStore();
      if (call?.reservation !== undefined) meta.reservation = call.reservation;
      if (call?.remoteAddress !== undefined) meta.source = call.remoteAddress;
      return await run(meta);
    } catch (err) {
      if (!(err instanceof ProduceError)) onUnexpected(err);
      throw toConnectError(err);
    }
  }
  return (router: ConnectRouter) =>
    router.service(Producer, {
      produce: (timber, ctx) => call(ctx, (meta) => service.produce(timber, meta)),
      produceBatch: (collection, ctx) => call(ctx, (meta) => service.produceBatch(collection, meta)),
    });
}

/** A message protobuf cannot read is the client's fault: INVALID_ARGUMENT, never connect's INTERNAL. */
function parseBinaryFailure(err: unknown): ConnectError {
  return new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument);
}

/**
 * ProduceBatch is read as the gRPC fast path reads it (grpc-wire.ts), so a request it cannot read gets the same
 * answer on every protocol.
 */
function checkBatchBinary(message: Uint8Array): void {
  try {
    collectionFromWire(fromBinary(WireBytesSchema, message));
  } catch (err) {
    throw parseBinaryFailure(err);
  }
}

function checkBinary(schema: DescMessage): MessageCheck {
  return (message) => {
    try {
      fromBinary(schema, message);
    } catch (err) {
      throw parseBinaryFailure(err);
    }
  };
}

// protobuf-es's own errors for a JSON value of the wrong type or range name the field; those are answered as REST
// answers them, with the field in `barito-error-details`. connect answers every other JSON failure itself.
const fieldDecodeFailure = /^cannot decode (?:field|message) producer\./;

function checkJson(schema: DescMessage): MessageCheck {
  return (message) => {
    try {
      // What connect's JSON serialization does (connect ignores unknown fields unless told otherwise).
      fromJsonString(schema, new TextDecoder().decode(message), { ignoreUnknownFields: true });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (fieldDecodeFailure.test(reason))
        throw toConnectError(ProduceError.invalid([{ field: fieldOfDecodeError(reason), reason }]));
    }
  };
}

const methodPath = (name: string) => `/${Producer.typeName}/${name}`;
const checks = new Map<string, { binary: MessageCheck; json: MessageCheck }>([
  [
    methodPath(Producer.method.produce.name),
    { binary: checkBinary(Producer.method.produce.input), json: checkJson(Producer.method.produce.input) },
  ],
  [
    methodPath(Producer.method.produceBatch.name),
    { binary: checkBatchBinary, json: checkJson(Producer.method.produceBatch.input) },
  ],
]);

/** The parse policy for a request to `path`, applied to its message before connect parses it (rpc-body.ts). */
export function requestCheck(path: string, contentType: string): MessageCheck | undefined {
  const check = checks.get(path);
  return check && (/[/+]json(?:;|$)/.test(contentType) ? check.json : check.binary);
}
