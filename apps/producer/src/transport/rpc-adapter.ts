import type { ServerResponse } from "node:http";
import {
  Code,
  type ConnectRouter,
  type ConnectRouterOptions,
  ConnectError,
  createConnectRouter,
} from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { InFlightBudget } from "../produce/in-flight.js";
import {
  checkedBody,
  currentRpcCall,
  type MessageCheck,
  type NodeRequest,
  type NodeResponse,
  type RpcCall,
} from "./rpc-body.js";

export interface RpcAdapterOptions {
  routes: (router: ConnectRouter) => void;
  /** Interceptors, compression, shutdown signal; connect's own read limit is replaced by `readMaxBytes`. */
  router: Omit<ConnectRouterOptions, "readMaxBytes">;
  /** BARITO_GRPC_MAX_RECV_MSG_SIZE. */
  readMaxBytes: number;
  /** The parse policy of the message sent to a path (connect-routes.ts: requestCheck). */
  check: (path: string, contentType: string) => MessageCheck | undefined;
  /** The in-flight budget: every call reserves its body as it is read (its declared length first). */
  budget?: InFlightBudget;
  onHandlerFailure: (err: unknown) => void;
}

export interface RpcAdapter {
  /**
   * Serves a request to one of the routes (false for any other path), reading its body from `body` when given (the
   * chunks a fast path already read, then the rest of the request).
   */
  serve(req: NodeRequest, res: NodeResponse, body?: AsyncIterable<Uint8Array>): boolean;
}

// connect's largest limit: the producer's own limit is applied before connect reads a message (rpc-body.ts).
const outOfReach = 0xffffffff;

/**
 * connect's Node adapter (connect-node's request and response conversions, connect's router) with the request body
 * read through `checkedBody`, so the size, budget and parse policy hold before the framework reads a byte. Each call
 * runs in its `RpcCall` context, where the codecs and the routes find its reservation and check.
 */
export function createRpcAdapter(options: RpcAdapterOptions): RpcAdapter {
  const router = createConnectRouter({ ...options.router, readMaxBytes: outOfReach });
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return {
    serve(req, res, body) {
      const path = req.url?.split("?", 2)[0] ?? "";
      const handler = handlers.get(path);
      if (!handler) return false;
      const call: RpcCall = {
        reservation: options.budget?.open(),
        readMaxBytes: options.readMaxBytes,
        check: options.check(path, req.headers["content-type"] ?? ""),
        remoteAddress: req.socket?.remoteAddress,
      };
      const source = body ?? (req as AsyncIterable<Uint8Array>);
      // Released once the answer is out or the client is gone. Not when connect's writing resolves: it waits for an
      // "end" event that Node's responses never emit (connect-node 2.2), so it never resolves.
      if (call.reservation) res.once("close", call.reservation.release);
      currentRpcCall.run(call, () => {
        const request = universalRequestFromNodeRequest(req, res, undefined, undefined);
        handler({ ...request, body: checkedBody(req, res, source, call) })
          .then((response) => universalResponseToNodeResponse(response, res))
          .catch((err: unknown) => {
            if (ConnectError.from(err).code !== Code.Aborted) options.onHandlerFailure(err);
          });
      });
      return true;
    },
  };
}

export function notFound(_req: NodeRequest, res: NodeResponse): void {
  (res as ServerResponse).writeHead(404).end();
}
