import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouterOptions,
  createConnectRouter,
  type ConnectRouter,
} from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

export interface RpcNodeHandlerOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  fallback?: (req: NodeRequest, res: NodeResponse) => void;
  onHandlerFailure: (err: unknown) => void;
}

/**
 * connect-node's adapter, plus one correction: connect reports a request body that is not valid protobuf as
 * INTERNAL ("parse binary: ..."), i.e. HTTP 500 — a server fault — although the client sent garbage. Clients and
 * alerting must see a client error, so those answers are rewritten to INVALID_ARGUMENT (HTTP 400) on every
 * protocol. Nothing else is touched.
 */
export function createRpcNodeHandler(options: RpcNodeHandlerOptions) {
  const router = createConnectRouter(options);
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const notFound = (_req: NodeRequest, res: NodeResponse) => {
    (res as ServerResponse).writeHead(404).end();
  };
  return function rpcNodeHandler(req: NodeRequest, res: NodeResponse): void {
    const handler = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      (options.fallback ?? notFound)(req, res);
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((response) => reclassifyParseErrors(response))
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) options.onHandlerFailure(err);
      });
  };
}

const parseFailure = "parse binary";

async function reclassifyParseErrors(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  for (const headers of [response.header, response.trailer]) {
    if (
      headers?.get("grpc-status") === String(Code.Internal) &&
      decodeURIComponent(headers.get("grpc-message") ?? "").startsWith(parseFailure)
    ) {
      headers.set("grpc-status", String(Code.InvalidArgument));
    }
  }
  const contentType = response.header?.get("content-type") ?? "";
  const isConnectError = response.status === 500 && contentType.startsWith("application/json");
  const isGrpcWeb = contentType.startsWith("application/grpc-web");
  if (!response.body || !(isConnectError || isGrpcWeb)) return response;

  // Unary error bodies are small; buffering them is cheap.
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  let body = Buffer.concat(chunks);
  let status = response.status;
  if (isConnectError) {
    const error = JSON.parse(body.toString("utf8")) as { code?: string; message?: string };
    if (error.code === "internal" && error.message?.startsWith(parseFailure)) {
      status = 400;
      body = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
      response.header?.set("content-length", String(body.byteLength));
    }
  } else if (
    body.includes(`grpc-message: ${encodeURIComponent(parseFailure)}`) ||
    body.includes(`grpc-message:${encodeURIComponent(parseFailure)}`)
  ) {
    // The gRPC-Web trailer frame is text; "13" -> " 3" keeps the frame length.
    const text = body
      .toString("latin1")
      .replace(/grpc-status: ?13\r\n/, (match) => match.replace("13", match.includes(": ") ? " 3" : "3 "));
    body = Buffer.from(text, "latin1");
  }
  return {
    ...response,
    status,
    body: (async function* () {
      yield body;
    })(),
  };
}
