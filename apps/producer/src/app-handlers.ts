import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type Readiness, requireBearerToken } from "@barito-flow/lifecycle";
import {
  Code,
  type ConnectRouter,
  type ConnectRouterOptions,
  ConnectError,
  type Interceptor,
} from "@connectrpc/connect";
import { getRequestListener } from "@hono/node-server";
import { type StatusSource, statusResponse } from "@barito-flow/status-page";
import { Hono } from "hono";
import type { ProducerMetrics } from "./metrics.js";
import type { InFlightBudget } from "./produce/in-flight.js";
import type { ProducerService } from "./produce/producer-service.js";
import { compressionGzip, compressionZstd } from "./transport/compression.js";
import { producerRoutes, requestCheck } from "./transport/connect-routes.js";
import { createGrpcFastPath } from "./transport/grpc-fast.js";
import { addHealthRoutes, createRestApp } from "./transport/rest-app.js";
import { createRestFastPath } from "./transport/rest-fast.js";
import { createRpcAdapter, notFound } from "./transport/rpc-adapter.js";

export interface ProducerHandlerOptions {
  service: ProducerService;
  budget: InFlightBudget;
  metrics: ProducerMetrics;
  readiness: () => Readiness;
  /** The live status page (`/status`, `/status.json`) on the metrics port. */
  status: StatusSource;
  /** BARITO_GRPC_MAX_RECV_MSG_SIZE. */
  readMaxBytes: number;
  /** BARITO_PRODUCER_REST_API: false leaves only health and Connect/gRPC-Web on the REST port. */
  restEnabled: boolean;
  shutdownSignal: AbortSignal;
  /** BARITO_EXPORTER_TOKEN: the whole metrics listener but /healthz and /readyz requires it. */
  operatorToken?: string | undefined;
  onUnexpected: (err: unknown) => void;
  onHandlerFailure: (err: unknown) => void;
}

type Listener<Req, Res> = (req: Req, res: Res) => void;

export interface ProducerHandlers {
  /** REST, Connect and gRPC-Web (HTTP/1.1). */
  rest: Listener<IncomingMessage, ServerResponse>;
  /** gRPC (HTTP/2 cleartext). */
  grpc: Listener<Http2ServerRequest, Http2ServerResponse>;
  /** Prometheus, the status page and health. */
  metrics: Listener<IncomingMessage, ServerResponse>;
  /** The connect service and its router options, e.g. for `createRouterTransport` in tests. */
  rpc: { routes: (router: ConnectRouter) => void; options: ConnectRouterOptions };
}

/**
 * One route per protocol: REST produce → rest-fast.ts; gRPC ProduceBatch → grpc-fast.ts; every other RPC (Connect,
 * gRPC-Web, gRPC Produce, and the gRPC calls of unusual shape the fast path hands back) → connect through
 * rpc-adapter.ts; health and /openapi.json → rest-app.ts.
 */
export function createProducerHandlers(options: ProducerHandlerOptions): ProducerHandlers {
  const { service, budget, metrics, readMaxBytes, onUnexpected } = options;

  const timing: Interceptor = (next) => async (req) => {
    const started = performance.now();
    const route = req.method.name;
    const protocol = rpcProtocol(req.header.get("content-type"));
    try {
      const res = await next(req);
      metrics.observeRequest(protocol, route, "ok", (performance.now() - started) / 1000);
      return res;
    } catch (err) {
      const code = ConnectError.from(err).code;
      metrics.observeRequest(protocol, route, Code[code] ?? String(code), (performance.now() - started) / 1000);
      throw err;
    }
  };
  const rpc = {
    routes: producerRoutes(service, onUnexpected),
    options: {
      acceptCompression: [compressionZstd, compressionGzip],
      interceptors: [timing],
      shutdownSignal: options.shutdownSignal,
    },
  };
  const adapter = createRpcAdapter({
    routes: rpc.routes,
    router: rpc.options,
    readMaxBytes,
    check: requestCheck,
    budget,
    onHandlerFailure: options.onHandlerFailure,
  });

  const observeRest = (route: string, status: number, seconds: number) =>
    metrics.observeRequest("rest", route, String(status), seconds);
  const restApp = createRestApp({ readiness: options.readiness, onUnexpected, onRequest: observeRest });
  const restListener = getRequestListener(restApp.fetch);
  const restFastPath = options.restEnabled
    ? createRestFastPath({ service, budget, maxBodyBytes: readMaxBytes, onUnexpected, onRequest: observeRest })
    : () => false;

  const grpcFastPath = createGrpcFastPath({
    service,
    budget,
    readMaxBytes,
    onUnexpected,
    onCall: (route, status, seconds) => metrics.observeRequest("grpc", route, status, seconds),
    fallback: (req, res, body) => {
      if (!adapter.serve(req, res, body)) notFound(req, res);
    },
  });

  const metricsApp = new Hono();
  metricsApp.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
  metricsApp.get("/status", (c) => statusResponse(options.status, c.req.raw) ?? c.notFound());
  metricsApp.get("/status.json", (c) => statusResponse(options.status, c.req.raw) ?? c.notFound());
  addHealthRoutes(metricsApp, options.readiness);

  return {
    rpc,
    rest(req, res) {
      if (!adapter.serve(req, res) && !restFastPath(req, res)) restListener(req, res);
    },
    grpc(req, res) {
      if (req.httpVersionMajor === 2 && grpcFastPath(req, res)) return;
      if (!adapter.serve(req, res)) notFound(req, res);
    },
    metrics: requireBearerToken(getRequestListener(metricsApp.fetch), options.operatorToken),
  };
}

function rpcProtocol(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}
