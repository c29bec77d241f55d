import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProduceError, retryAfterSeconds } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { openApiDocument } from "./openapi.js";
import { errorBody, parseBody } from "./rest-body.js";
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
      const timber = parseBody("timber", await c.req.text());
      return c.json(await options.service.produce(timber, requestMeta(c.req.raw.headers)));
    });
    app.post("/produce_batch", limit, async (c) => {
      const collection = parseBody("collection", await c.req.text());
      return c.json(await options.service.produceBatch(collection, requestMeta(c.req.raw.headers)));
    });
  }
  return app;
}
