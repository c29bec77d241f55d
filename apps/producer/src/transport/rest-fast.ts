import type { IncomingMessage, ServerResponse } from "node:http";
import type { InFlightBudget, Reservation } from "../produce/in-flight.js";
import { ProduceError, retryAfterSeconds } from "../produce/produce-error.js";
import type { ProducerService } from "../produce/producer-service.js";
import { requestMetaFromKey } from "./request-meta.js";
import { errorBody, parseBody } from "./rest-body.js";

export interface RestFastPathOptions {
  service: ProducerService;
  /** Largest request body accepted (BARITO_GRPC_MAX_RECV_MSG_SIZE). */
  maxBodyBytes: number;
  onRequest?: (route: string, status: number, seconds: number) => void;
  onUnexpected: (err: unknown) => void;
  /** The in-flight budget; each request reserves its declared length before its body is read. */
  budget?: InFlightBudget;
}

/**
 * `POST /produce` and `POST /produce_batch`, the REST produce routes, straight on Node's request and response
 * (without the Web `Request`/`ReadableStream` a framework adapter builds for every request). Returns false for
 * anything else.
 */
export function createRestFastPath(options: RestFastPathOptions) {
  const { service, maxBodyBytes, budget } = options;

  const tooLargeBody = () =>
    errorBody("PAYLOAD_TOO_LARGE", `request body larger than ${maxBodyBytes} bytes (BARITO_GRPC_MAX_RECV_MSG_SIZE)`, [
      { field: "body", reason: `at most ${maxBodyBytes} bytes` },
    ]);

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

  function fail(res: ServerResponse, route: string, started: number, err: unknown) {
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

  /**
   * Parses the body and starts the produce call. Not async on purpose: an async function keeps its parameters and
   * locals (the body, its text, the parsed request) alive until Kafka answers; here only the callbacks below live
   * on, and they hold none of them.
   */
  function handle(
    req: IncomingMessage,
    body: Buffer,
    route: string,
    started: number,
    res: ServerResponse,
    reservation: Reservation | undefined,
  ) {
    let pending: Promise<{ topic: string }>;
    try {
      const text = body.toString("utf8");
      // Request.text() (what the Hono route read) drops a leading byte order mark; so does this.
      const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      const meta = requestMetaFromKey(req.headers["idempotency-key"]);
      if (reservation !== undefined) meta.reservation = reservation;
      if (req.socket?.remoteAddress !== undefined) meta.source = req.socket.remoteAddress;
      pending =
        route === "/produce_batch"
          ? service.produceBatch(parseBody("collection", json), meta)
          : service.produce(parseBody("timber", json), meta);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then(
        (result) => answer(res, route, started, 200, result),
        (err: unknown) => fail(res, route, started, err),
      )
      .catch(options.onUnexpected)
      .finally(() => reservation?.release());
  }

  return function restFastPath(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "POST") return false;
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const route = query === -1 ? url : url.slice(0, query);
    if (route !== "/produce_batch" && route !== "/produce") return false;
    const declared = req.headers["content-length"];
    const started = performance.now();
    if (declared !== undefined && !(Number(declared) <= maxBodyBytes)) {
      // Refused before it is read; the unread body is still on the socket, so the connection is closed.
      answer(res, route, started, 413, tooLargeBody(), { connection: "close" });
      return true;
    }
    const reservation = budget?.open();
    // Refused before a byte of the body is kept. The declared body (at most maxBodyBytes) is then read and dropped,
    // so the connection stays usable and a client still sending sees the answer instead of a reset.
    if (reservation !== undefined && declared !== undefined) {
      try {
        reservation.reserve(Number(declared));
      } catch (err) {
        refuseEarly(res, route, started, err, reservation, false);
        req.resume();
        return true;
      }
    }
    let chunks: Buffer[] | undefined = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      if (tooLarge || chunks === undefined) return;
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        // A chunked body over the limit: the unread rest is still on the socket, so the connection is closed.
        tooLarge = true;
        chunks = undefined;
        reservation?.release();
        answer(res, route, started, 413, tooLargeBody(), { connection: "close" });
        req.pause();
        return;
      }
      if (reservation !== undefined && size > reservation.bytes) {
        try {
          reservation.reserve(size);
        } catch (err) {
          tooLarge = true;
          chunks = undefined;
          // A chunked body has no bound: its unread rest is left on a connection closed after the answer.
          refuseEarly(res, route, started, err, reservation, true);
          req.pause();
          return;
        }
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge || chunks === undefined) return;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      // These listeners live as long as the request: they must not keep the body through the wait on Kafka.
      chunks = undefined;
      handle(req, body, route, started, res, reservation);
    });
    // A client that goes away mid-body gets no answer; nothing was produced.
    req.on("error", () => {});
    req.on("close", () => {
      if (chunks !== undefined && !req.complete) {
        chunks = undefined;
        reservation?.release();
      }
    });
    return true;
  };

  /** OVERLOADED before the body was kept: answered at once. */
  function refuseEarly(
    res: ServerResponse,
    route: string,
    started: number,
    err: unknown,
    reservation: Reservation,
    close: boolean,
  ) {
    reservation.release();
    if (err instanceof ProduceError) {
      answer(res, route, started, err.httpStatus, errorBody(err.code, err.message, [...err.details]), {
        ...(err.retryAfterMs === undefined ? {} : { "retry-after": String(retryAfterSeconds(err.retryAfterMs)) }),
        ...(close ? { connection: "close" } : {}),
      });
      return;
    }
    fail(res, route, started, err);
  }
}
