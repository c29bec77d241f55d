import type { Logger } from "@barito-flow/logger";

/**
 * One document to write. `document` may be already-serialised JSON (preferred: key order and big-number precision
 * survive untouched), as a string or as its UTF-8 bytes (sent as they are: the cheapest when the JSON was written as
 * bytes anyway; the bytes must not change until the outcome), or a plain object that the sink serialises with
 * `JSON.stringify`.
 */
export interface BulkOperation {
  /** `index` overwrites a document with the same id; `create` fails that item with 409 (reported as "duplicate"). */
  action: "index" | "create";
  index: string;
  /** Deterministic id (event id, or topic-partition-offset) so at-least-once replays overwrite instead of duplicating. */
  id: string;
  document: string | Uint8Array | Record<string, unknown>;
}

/** Final result of one operation. `add()` resolves with exactly one of these. */
export type ItemOutcome =
  | { status: "indexed"; httpStatus: number; result?: string }
  | { status: "duplicate"; httpStatus: 409 }
  | { status: "rejected"; httpStatus: number; errorType: string; reason: string };

/** Server error object of a bulk item, as OpenSearch/Elasticsearch return it. */
export interface BulkItemError {
  type: string;
  reason?: string;
  caused_by?: { type?: string; reason?: string } & Record<string, unknown>;
  [key: string]: unknown;
}

/** One entry of a bulk response, in request order. */
export interface BulkResponseItem {
  status: number;
  _id?: string;
  _index?: string;
  result?: string;
  error?: BulkItemError;
}

export interface ClusterHealth {
  status: "green" | "yellow" | "red";
  clusterName: string;
  numberOfNodes: number;
  activeShardsPercent?: number;
}

/**
 * Port: sends one `_bulk` request. `lines` are NDJSON lines (action line, source line, ...) without trailing newlines.
 * Resolves with one item per operation, in order, even when `errors: true`. Whole-request failures (unreachable,
 * timeout, HTTP 429/5xx, 4xx) are thrown as `SinkError` with `retriable` set.
 */
export interface BulkClient {
  bulk(lines: string[], signal?: AbortSignal): Promise<BulkResponseItem[]>;
  /**
   * Optional: the same request with the whole NDJSON body already encoded (every line ending in `\n`) and the
   * number of operations in it. The sink uses it when the client has it: writing each line into one Buffer costs
   * less than an array of strings the client has to join and encode.
   */
  bulkBody?(body: Buffer, operations: number, signal?: AbortSignal): Promise<BulkResponseItem[]>;
  /** Cluster health, or null when the cluster cannot be reached. Never throws. */
  ping(): Promise<ClusterHealth | null>;
}

export type TimerHandle = unknown;

/** Time source; injected so batching and backoff can be tested without real waiting. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface RetryOptions {
  /** First backoff ceiling; the n-th retry waits a random time in [0, min(maxDelayMs, minDelayMs * 2^(n-1))]. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Reported after every bulk request (success or failure), e.g. for histograms and logs. */
export interface FlushStats {
  docs: number;
  bytes: number;
  durationMs: number;
  /** Whole-request outcome: true when the server answered with per-item results. */
  ok: boolean;
  indexed: number;
  duplicates: number;
  rejected: number;
  /** Items of this response that will be retried (429/5xx/408 on the item). */
  retried: number;
  /** Set when the whole request failed. */
  errorCode?: string;
  httpStatus?: number;
}

export interface BulkSinkOptions {
  client: BulkClient;
  /** Flush when this many operations are buffered. Default 100. */
  maxDocs?: number;
  /** Flush when the buffered NDJSON reaches this many bytes. Default 5 MiB. */
  maxBytes?: number;
  /** Upper bound on how long a document waits in the buffer before its batch is sent. Default 500 ms. */
  flushIntervalMs?: number;
  /** Bulk requests in flight at once (including batches waiting to retry). Default 2. */
  maxInFlight?: number;
  /** Operations held (buffered, in flight or waiting to retry) at which the sink reports saturation. Default 5000. */
  maxBufferedDocs?: number;
  /** Saturation ends when held operations fall to this level. Default maxBufferedDocs / 2. */
  resumeBelowDocs?: number;
  retry?: RetryOptions;
  /** Consecutive whole-request failures after which `health()` reports "degraded". Default 3. */
  degradedAfterFailures?: number;
  logger?: Logger;
  onFlush?: (stats: FlushStats) => void;
  clock?: Clock;
  /** Random source in [0, 1) for jitter; injectable for deterministic tests. */
  random?: () => number;
}

export interface SinkStats {
  indexed: number;
  duplicates: number;
  rejected: number;
  /** Item retries scheduled after a per-item 429/5xx/408. */
  retriedItems: number;
  /** Whole-request retries (connection refused, timeout, 429/5xx on the request). */
  retriedRequests: number;
  bulkRequests: number;
  failedRequests: number;
  /** Most recent bulk request durations in ms (bounded ring, oldest first). */
  bulkLatenciesMs: number[];
  inFlightRequests: number;
  /** Operations waiting in the buffer for a batch. */
  buffered: number;
  /** Operations waiting out a backoff before being re-sent. */
  awaitingRetry: number;
  /** All operations whose `add()` has not settled yet. */
  pending: number;
}

export type SinkHealthState = "ok" | "degraded";

export interface SinkHealth {
  state: SinkHealthState;
  consecutiveFailures: number;
  lastErrorCode?: string;
}

export interface CloseOptions {
  /** How long to keep flushing and retrying before pending operations are rejected. Default 30 s. */
  timeoutMs?: number;
}

export interface BulkSink {
  /** Queues one operation; resolves with its final outcome. Rejects only for invalid input or a closed sink. */
  add(op: BulkOperation): Promise<ItemOutcome>;
  /**
   * `add()` without a promise per document, for hot loops: `done` is called once with the final outcome, or with a
   * `SinkClosedError` when the sink closes first. Invalid input throws (`SinkError` INVALID_OPERATION) synchronously,
   * and so does a closed sink; `done` is then never called. `done` gets `op` back as its second argument, so one
   * shared callback can serve every document (the caller's own fields on `op` say which one it was). Outcome
   * objects may be shared between documents: read them, do not modify them.
   */
  submit<Op extends BulkOperation>(op: Op, done: (result: ItemOutcome | Error, op: Op) => void): void;
  /** True while the sink holds too many operations; pause the source until `onDrain` / `waitForCapacity`. */
  isSaturated(): boolean;
  /** Called every time saturation ends. Returns an unsubscribe function. */
  onDrain(callback: () => void): () => void;
  /** Resolves as soon as the sink is not saturated (immediately when it is not). */
  waitForCapacity(): Promise<void>;
  /** Sends everything buffered now, ignoring the count/bytes/age triggers; resolves once all of it was dispatched. */
  flush(): Promise<void>;
  /** Resolves when no operation is pending (every `add()` settled). */
  drain(): Promise<void>;
  /** Flushes, waits for in-flight and retries up to `timeoutMs`, then rejects what is left with `SinkClosedError`. */
  close(options?: CloseOptions): Promise<void>;
  stats(): SinkStats;
  health(): SinkHealth;
}
