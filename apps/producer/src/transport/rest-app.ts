import { type DescMessage, fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type FieldViolation, ProduceError, retryAfterSeconds } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { openApiDocument } from "./openapi.js";
import { plainCollectionFromJson, plainTimberFromJson } from "./rest-json.js";
import { requestMeta } from "./connect-routes.js";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

export interface RestAppOptions {
  service: ProducerService;
  /** Largest request body accepted (BARITO_GRPC_MAX_RECV_MSG_SIZE), answered with 413 above it. */
  maxBodyBytes: number;
  /** BARITO_PRODUCER_REST_API: false leaves only health and Connect/gRPC-Web on this port. */
  restApi: boolean;
  readiness: () => Readiness;
  onRequest?: (route: string, status: number, seconds: number) => void;
  onUnexpected: (err: unknown) => void;
}

interface ErrorBody {
  code: string;
  message: string;
  details: FieldViolation[];
}

function errorBody(code: string, message: string, details: FieldViolation[] = []): ErrorBody {
  return { code, message, details };
}

/**
 * Reads a JSON body into a proto message, naming the offending field when the shape is wrong. `plain` reads the
 * common shape without `fromJson` (see rest-json.ts); whatever it declines goes through `fromJson`.
 */
function parseBody<Desc extends DescMessage>(
  schema: Desc,
  text: string,
  plain: (json: Record<string, unknown>) => MessageShape<Desc> | undefined,
): MessageShape<Desc> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw ProduceError.invalid([{ field: "body", reason: `invalid JSON: ${(err as Error).message}` }]);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw ProduceError.invalid([{ field: "body", reason: "must be a JSON object" }]);
  }
  const message = plain(json as Record<string, unknown>);
  if (message !== undefined) return message;
  try {
    return fromJson(schema, json as JsonValue);
  } catch (err) {
    throw ProduceError.invalid([{ field: fieldOfDecodeError((err as Error).message), reason: (err as Error).message }]);
  }
}

// protobuf-es names the field in its messages: `cannot decode field producer.TimberContext.app_max_tps from JSON: ...`
// or `cannot decode message producer.Timber from JSON: key "x" is unknown`.
function fieldOfDecodeError(message: string): string {
  const unknownKey = /key "([^"]{0,100})" is unknown/.exec(message);
  if (unknownKey?.[1] !== undefined) return unknownKey[1];
  const field = /field producer\.(\w+)\.(\w+)/.exec(message);
  if (field) {
    const [, messageName, fieldName] = field;
    return messageName === "TimberContext" ? `context.${fieldName}` : (fieldName ?? "body");
  }
  if (message.includes("google.protobuf.Struct") || message.includes("google.protobuf.Value")) return "content";
  return "body";
}

export function createRestApp(options: RestAppOptions): Hono {
  const app = new Hono();

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    options.onRequest?.(c.req.routePath, c.res.status, (performance.now() - started) / 1000);
  });

  app.onError((err, c) => {
    if (err instanceof ProduceError) {
      if (err.retryAfterMs !== undefined) c.header("Retry-After", String(retryAfterSeconds(err.retryAfterMs)));
      return c.json(errorBody(err.code, err.message, [...err.details]), err.httpStatus as 400);
    }
    options.onUnexpected(err);
    return c.json(errorBody("INTERNAL", "internal error"), 500);
  });
  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const readiness = options.readiness();
    return c.json(
      { status: readiness.ready ? "ready" : "not_ready", checks: readiness.checks },
      readiness.ready ? 200 : 503,
    );
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument));

  if (options.restApi) {
    const limit = bodyLimit({
      maxSize: options.maxBodyBytes,
      // The unread rest of the body is still on the socket: close it rather than parse it as the next request.
      onError: (c) =>
        c.json(
          errorBody(
            "PAYLOAD_TOO_LARGE",
            `request body larger than ${options.maxBodyBytes} bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)`,
            [{ field: "body", reason: `at most ${options.maxBodyBytes} bytes` }],
          ),
          413,
          { Connection: "close" },
        ),
    });
    app.post("/produce", limit, async (c) => {
      const timber = parseBody(TimberSchema, await c.req.text(), plainTimberFromJson);
      return c.json(await options.service.produce(timber, requestMeta(c.req.raw.headers)));
    });
    app.post("/produce_batch", limit, async (c) => {
      const collection = parseBody(TimberCollectionSchema, await c.req.text(), plainCollectionFromJson);
      return c.json(await options.service.produceBatch(collection, requestMeta(c.req.raw.headers)));
    });
  }
  return app;
}
