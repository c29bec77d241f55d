import { RateLimitError, type RateLimitErrorCode } from "./errors.js";
import { assertValidCost, assertValidKey, type RateDecision, type RateLimiter } from "./rate-limiter.js";

/**
 * A message channel between two processes, e.g. a cluster worker (`process.send` / `process.on("message")`) and its
 * primary (`worker.send` / `worker.on("message")`). Messages this module does not recognise are left alone, so the
 * channel can be shared with other users (prom-client's cluster metrics, for one).
 */
export interface RateLimitChannel {
  send(message: unknown): void;
  /** Subscribes; returns the unsubscribe function. */
  onMessage(listener: (message: unknown) => void): () => void;
}

const TAKE = "barito-rate-limit:take";
const DECISION = "barito-rate-limit:decision";

interface TakeMessage {
  type: typeof TAKE;
  id: number;
  key: string;
  cost: number;
  tpsLimit: number;
}

interface DecisionMessage {
  type: typeof DECISION;
  id: number;
  decision?: RateDecision;
  error?: { code: RateLimitErrorCode; field: string; message: string };
}

function isTake(message: unknown): message is TakeMessage {
  const m = message as Partial<TakeMessage> | null;
  return (
    typeof m === "object" &&
    m !== null &&
    m.type === TAKE &&
    typeof m.id === "number" &&
    typeof m.key === "string" &&
    typeof m.cost === "number" &&
    typeof m.tpsLimit === "number"
  );
}

function isDecision(message: unknown): message is DecisionMessage {
  const m = message as Partial<DecisionMessage> | null;
  return typeof m === "object" && m !== null && m.type === DECISION && typeof m.id === "number";
}

/**
 * Answers the `take` calls of one remote process from `limiter` (the primary side). Several channels can share one
 * limiter: that is the point, N workers drawing from the same windows. Returns a function that stops serving.
 */
export function serveRateLimiter(limiter: RateLimiter, channel: RateLimitChannel): () => void {
  return channel.onMessage((message) => {
    if (!isTake(message)) return;
    const answer = (reply: Omit<DecisionMessage, "type" | "id">) => {
      try {
        channel.send({ type: DECISION, id: message.id, ...reply });
      } catch {
        // The remote process went away; it has no one left to answer.
      }
    };
    limiter.take(message.key, message.cost, message.tpsLimit).then(
      (decision) => answer({ decision }),
      (err: unknown) =>
        answer({
          error:
            err instanceof RateLimitError
              ? { code: err.code, field: err.field, message: err.message }
              : { code: "CLOSED", field: "limiter", message: `rate limiter failed: ${String(err)}` },
        }),
    );
  });
}

export interface RemoteRateLimiterOptions {
  /** How long a `take` waits for the serving process. Default 5000 ms. */
  timeoutMs?: number;
}

/**
 * A `RateLimiter` whose windows live in another process (served by `serveRateLimiter`): cluster workers share one
 * set of `LOCAL` windows this way, so N workers admit what one process would, not N times as much. A call the
 * serving process does not answer in time is rejected with `CLOSED` (the caller answers with an internal error);
 * it is not charged anywhere it could be seen.
 */
export function createRemoteRateLimiter(
  channel: RateLimitChannel,
  options: RemoteRateLimiterOptions = {},
): RateLimiter {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const pending = new Map<
    number,
    { resolve: (d: RateDecision) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  let nextId = 1;
  let closed = false;
  const unsubscribe = channel.onMessage((message) => {
    if (!isDecision(message)) return;
    const call = pending.get(message.id);
    if (call === undefined) return;
    pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.decision !== undefined) call.resolve(message.decision);
    else {
      const error = message.error ?? { code: "CLOSED" as const, field: "limiter", message: "no decision" };
      call.reject(new RateLimitError(error.code, error.field, error.message));
    }
  });

  return {
    take(key, cost, tpsLimit) {
      if (closed) return Promise.reject(new RateLimitError("CLOSED", "limiter", "rate limiter is closed"));
      try {
        assertValidKey(key);
        assertValidCost(cost);
      } catch (err) {
        return Promise.reject(err);
      }
      const id = nextId++;
      return new Promise<RateDecision>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new RateLimitError("CLOSED", "limiter", `no rate-limit decision within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        pending.set(id, { resolve, reject, timer });
        try {
          channel.send({ type: TAKE, id, key, cost, tpsLimit } satisfies TakeMessage);
        } catch (err) {
          pending.delete(id);
          clearTimeout(timer);
          reject(new RateLimitError("CLOSED", "limiter", `rate limiter unreachable: ${String(err)}`));
        }
      });
    },
    async close() {
      closed = true;
      unsubscribe();
      for (const [id, call] of pending) {
        pending.delete(id);
        clearTimeout(call.timer);
        call.reject(new RateLimitError("CLOSED", "limiter", "rate limiter is closed"));
      }
    },
  };
}
