import type { IncomingMessage, ServerResponse } from "node:http";
import { ProduceError, retryAfterSeconds } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { requestMetaFromKey } from "./connect-routes.js";
import { errorBody, parseBody } from "./rest-body.js";

export interface RestFastPathOptions {
  service: ProducerService;
  /** Largest request body accepted (BARITO_GRPC_MAX_RECV_MSG_SIZE). */
  maxBodyBytes: number;
  onRequest?: (route: string, status: number, seconds: number) => void;
  onUnexpected: (err: unknown) => void;
}

/**
 * `POST /produce` and `POST /produce_batch` straight on Node's request and response, without Hono and the Web
 * `Request`/`ReadableStream` that @hono/node-server builds for every request (about a tenth of the producer's main
 * thread at batch load). The answers are those of the Hono routes in rest-app.ts: same bodies, statuses, `Retry-After`
 * and metrics. Returns false for anything else, and for a declared Content-Length above the limit, which Hono's body
 * limit answers (413, connection closed) as before.
 */
export function createRestFastPath(options: RestFastPathOptions) {
  const { service, maxBodyBytes } = options;

  function answer(
    res: ServerResponse,
    route: string,
    started: number,
    status: number,
    body: unknown,
    extra?: Record<string, string>,
  ) {
    const text = JSON.stringify(body);
    res
      .writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extra })
      .end(text);
    options.onRequest?.(route, status, (performance.now() - started) / 1000);
  }

  async function handle(req: IncomingMessage, body: Buffer, route: string, started: number, res: ServerResponse) {
    try {
      const text = body.toString("utf8");
      // Request.text() (what the Hono route read) drops a leading byte order mark; so does this.
      const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      const meta = requestMetaFromKey(req.headers["idempotency-key"]);
      const result =
        route === "/produce_batch"
          ? await service.produceBatch(parseBody("collection", json), meta)
          : await service.produce(parseBody("timber", json), meta);
      answer(res, route, started, 200, result);
    } catch (err) {
      if (err instanceof ProduceError) {
        answer(
          res,
          route,
          started,
          err.httpStatus,
          errorBody(err.code, err.message, [...err.details]),
          err.retryAfterMs === undefined ? undefined : { "retry-after": String(retryAfterSeconds(err.retryAfterMs)) },
        );
        return;
      }
      options.onUnexpected(err);
      answer(res, route, started, 500, errorBody("INTERNAL", "internal error", []));
    }
  }

  return function restFastPath(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "POST") return false;
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const route = query === -1 ? url : url.slice(0, query);
    if (route !== "/produce_batch" && route !== "/produce") return false;
    const declared = req.headers["content-length"];
    if (declared !== undefined && !(Number(declared) <= maxBodyBytes)) return false;

    const started = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        // A chunked body over the limit: the unread rest is still on the socket, so the connection is closed.
        tooLarge = true;
        chunks.length = 0;
        answer(
          res,
          route,
          started,
          413,
          errorBody(
            "PAYLOAD_TOO_LARGE",
            `request body larger than ${maxBodyBytes} bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)`,
            [{ field: "body", reason: `at most ${maxBodyBytes} bytes` }],
          ),
          { connection: "close" },
        );
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) return;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      handle(req, body, route, started, res).catch(options.onUnexpected);
    });
    // A client that goes away mid-body gets no answer; nothing was produced.
    req.on("error", () => {});
    return true;
  };
}
