import { type Logger, noopLogger, redactText } from "@barito-flow/logger";

/** The part of WHATWG `fetch` this package uses: the adapter tests and embedders replace. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; body: { cancel(): Promise<void> } | null }>;

export interface PushMetricsOptions {
  /** BaritoMarket's `increase_log_count` endpoint (BARITO_PUSH_METRIC_URL). */
  url: string;
  /** Time between pushes (BARITO_PUSH_METRIC_INTERVAL). */
  intervalMs: number;
  /** Bound of one request, answer included. Default: the interval, at most 10 s. */
  timeoutMs?: number;
  /**
   * Most tokens (app secrets) kept while pushes fail; counts of further tokens are dropped (and reported through
   * `onDropped`) until a push succeeds. Default 10,000: a few hundred KB at worst.
   */
  maxTokens?: number;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  logger?: Logger;
  /** Each finished push, for a metric. Never given the tokens. */
  onPush?: (result: PushResult) => void;
  /** Logs whose counts were dropped because `maxTokens` tokens were already waiting. */
  onDropped?: (logs: number) => void;
}

export interface PushResult {
  ok: boolean;
  /** Tokens and logs in the request. */
  tokens: number;
  logs: number;
  /** HTTP status, when there was an answer. */
  status?: number;
  /** Why it failed (`http_<status>`, `timeout`, or the transport error's code). */
  reason?: string;
}

export interface PushMetrics {
  /** Counts `logs` for `token`. Empty tokens are ignored: BaritoMarket could not attribute them. */
  add(token: string, logs?: number): void;
  /** Starts the periodic pushes (idempotent). */
  start(): void;
  /** Pushes now; resolves with the outcome, or undefined when there was nothing to push. Never rejects. */
  push(): Promise<PushResult | undefined>;
  /** Stops the timer and makes one last push bounded by `timeoutMs` (default: the request timeout). */
  stop(timeoutMs?: number): Promise<void>;
  /** What waits for the next push. */
  pending(): { tokens: number; logs: number };
}

const defaultMaxTokens = 10_000;

/**
 * barito-flow's push of log counts to BaritoMarket (reference §7.9): every interval, one
 * `POST {"application_groups":[{"token":"<app_secret>","new_log_count":<n>}, …]}`. Unlike the Go original, a failed
 * push (transport error, timeout or a non-2xx answer) keeps its counts for the next one, the answer's body is always
 * released, no request is sent when nothing was counted, and the tokens never reach a log line or an error.
 */
export function createPushMetrics(options: PushMetricsOptions): PushMetrics {
  const { url, intervalMs } = options;
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`intervalMs must be a positive integer, got ${String(intervalMs)}`);
  }
  const timeoutMs = options.timeoutMs ?? Math.min(intervalMs, 10_000);
  const maxTokens = options.maxTokens ?? defaultMaxTokens;
  const fetchFn: FetchLike = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const logger = options.logger ?? noopLogger;
  // The URL may carry credentials (user:password@); only its redacted form is ever logged.
  const shownUrl = redactText(url);
  const { target, headers } = withoutCredentials(url);

  let counts = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<PushResult | undefined> | undefined;

  function keep(target: Map<string, number>, token: string, logs: number): boolean {
    const current = target.get(token);
    if (current === undefined && target.size >= maxTokens) return false;
    target.set(token, (current ?? 0) + logs);
    return true;
  }

  /** A failed batch goes back in front of what was counted meanwhile, within the cap. */
  function restore(batch: Map<string, number>): void {
    const merged = new Map<string, number>();
    let dropped = 0;
    for (const source of [batch, counts]) {
      for (const [token, logs] of source) if (!keep(merged, token, logs)) dropped += logs;
    }
    counts = merged;
    if (dropped > 0) options.onDropped?.(dropped);
  }

  async function send(batch: Map<string, number>): Promise<PushResult> {
    let logs = 0;
    const groups: Array<{ token: string; new_log_count: number }> = [];
    for (const [token, count] of batch) {
      groups.push({ token, new_log_count: count });
      logs += count;
    }
    const sizes = { tokens: batch.size, logs };
    try {
      const response = await fetchFn(target, {
        method: "POST",
        headers,
        body: JSON.stringify({ application_groups: groups }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Released whatever the status: an unread body holds its connection (the Go original leaked them).
      await response.body?.cancel().catch(() => {});
      if (response.ok) return { ok: true, ...sizes, status: response.status };
      return { ok: false, ...sizes, status: response.status, reason: `http_${response.status}` };
    } catch (err) {
      return { ok: false, ...sizes, reason: transportReason(err) };
    }
  }

  function push(): Promise<PushResult | undefined> {
    if (inFlight) return inFlight;
    if (counts.size === 0) return Promise.resolve(undefined);
    const batch = counts;
    counts = new Map();
    inFlight = send(batch).then((result) => {
      inFlight = undefined;
      if (result.ok) logger.debug("pushed log counts", { url: shownUrl, tokens: result.tokens, logs: result.logs });
      else {
        restore(batch);
        // The answer's body is not logged: a market echoing the request would put the tokens in the log.
        logger.warn("pushing log counts failed; they are kept for the next push", {
          url: shownUrl,
          reason: result.reason,
          tokens: result.tokens,
          logs: result.logs,
        });
      }
      try {
        options.onPush?.(result);
      } catch (err) {
        logger.error("onPush listener threw", { err });
      }
      return result;
    });
    return inFlight;
  }

  return {
    add(token, logs = 1) {
      if (token === "" || !(logs > 0)) return;
      if (!keep(counts, token, logs)) options.onDropped?.(logs);
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void push(), intervalMs);
      timer.unref();
    },
    push,
    async stop(budgetMs = timeoutMs) {
      clearInterval(timer);
      timer = undefined;
      const deadline = Date.now() + budgetMs;
      const within = <T>(work: Promise<T>) =>
        Promise.race([
          work,
          new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
        ]);
      // A push already running carries older counts; the last one takes what came after it.
      if (inFlight) await within(inFlight);
      if (Date.now() < deadline) await within(push());
    },
    pending() {
      let logs = 0;
      for (const count of counts.values()) logs += count;
      return { tokens: counts.size, logs };
    },
  };
}

/**
 * `fetch` refuses a URL with credentials in it: they go into a basic Authorization header instead, which is what
 * such a URL means to the Go client barito-flow used.
 */
function withoutCredentials(url: string): { target: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return { target: url, headers };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  parsed.username = "";
  parsed.password = "";
  return { target: parsed.toString(), headers };
}

/** A short, secret-free reason: the timeout, or the system error code under undici's `fetch failed`. */
function transportReason(err: unknown): string {
  // A DOMException, which is not an `Error` of every realm (jest's, for one): recognised by its name.
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "transport_error";
}
