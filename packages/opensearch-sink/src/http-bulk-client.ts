import { Agent as HttpAgent, type IncomingMessage, request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { gzip, unzip } from "node:zlib";
import { redactText } from "@barito-flow/logger";
import { exponentialDelay } from "./backoff.js";
import { httpStatusError } from "./classify-request-error.js";
import { SinkError } from "./errors.js";
import { type OpenSearchClientOptions, resolveConnectionOptions } from "./opensearch-client.js";
import { clusterHealthOf } from "./cluster-health.js";
import type { BulkClient, BulkResponseItem, ClusterHealth } from "./types.js";

/**
 * Only what the sink reads. Items come back in request order, so no `_id`/`_index`; no `result` either: for the
 * `index` and `create` actions the status says it (201 created, 200 updated). A 2,000-item response is 52 KB.
 */
const BULK_FILTER_PATH = "errors,items.*.status,items.*.error";
const USER_AGENT = "barito-flow-opensearch-sink";
/** How long a node that failed is skipped: 1 s, doubling per failure in a row, at most 60 s. */
const NODE_PAUSE_MIN_MS = 1_000;
const NODE_PAUSE_MAX_MS = 60_000;

export interface HttpBulkClientOptions extends OpenSearchClientOptions {
  /** Timeout of `ping()` (cluster health). Default 2000 ms. */
  pingTimeoutMs?: number;
}

export interface HttpBulkClient extends BulkClient {
  bulkBody(body: Buffer, operations: number, signal?: AbortSignal): Promise<BulkResponseItem[]>;
  /** Closes the kept-alive connections. */
  close(): void;
  /**
   * Replaces the nodes (service discovery found others): requests from now on go to these; a node kept keeps its
   * failure state. An empty list is ignored.
   */
  setNodes(urls: readonly string[]): void;
}

interface Node {
  https: boolean;
  hostname: string;
  port: number;
  /** Path prefix of the node URL without its trailing slash ("" for none). */
  base: string;
  authorization: string | undefined;
  /** Failures in a row (connection refused, timeout, 502/503/504) and when the node may be tried again. */
  failures: number;
  deadUntil: number;
}

interface Response {
  status: number;
  body: Buffer;
}

/** One frozen item per status, shared by every document: the sink only reads them. */
const statusItems = new Map<number, BulkResponseItem>();

function statusItem(status: number): BulkResponseItem {
  let item = statusItems.get(status);
  if (item === undefined) {
    const result = status === 201 ? "created" : status === 200 ? "updated" : undefined;
    item = Object.freeze(result === undefined ? { status } : { status, result });
    if (statusItems.size < 64) statusItems.set(status, item);
  }
  return item;
}

const ERRORLESS_PREFIX = Buffer.from('{"errors":false,"items":[');
const STATUS_KEY = Buffer.from('":{"status":');

/**
 * The items of an `errors: false` response read straight from its bytes, `{"<action>":{"status":201}}` after
 * `{"errors":false,"items":[`: a JSON parse would make two objects per item of every bulk. Anything else (errors,
 * other fields, whitespace) returns undefined and goes through `JSON.parse`.
 */
export function scanErrorlessItems(body: Buffer, expected: number): BulkResponseItem[] | undefined {
  const prefix = ERRORLESS_PREFIX.length;
  if (body.length < prefix || body.compare(ERRORLESS_PREFIX, 0, prefix, 0, prefix) !== 0) return undefined;
  const items: BulkResponseItem[] = new Array(expected);
  let count = 0;
  let at = prefix;
  const end = body.length;
  for (;;) {
    // {"<action>
    if (body[at] !== 0x7b || body[at + 1] !== 0x22) return undefined;
    at += 2;
    while (at < end && (body[at] as number) >= 0x61 && (body[at] as number) <= 0x7a) at++;
    // ":{"status": (compared here: Buffer#compare with ranges, called for every item, validated its arguments and
    // allocated each time)
    if (at + STATUS_KEY.length > end) return undefined;
    for (let i = 0; i < STATUS_KEY.length; i++) if (body[at + i] !== STATUS_KEY[i]) return undefined;
    at += STATUS_KEY.length;
    let status = 0;
    const digits = at;
    while (at < end && at - digits < 3 && (body[at] as number) >= 0x30 && (body[at] as number) <= 0x39) {
      status = status * 10 + (body[at] as number) - 0x30;
      at++;
    }
    if (at === digits || body[at] !== 0x7d || body[at + 1] !== 0x7d) return undefined;
    at += 2;
    if (count >= expected) return undefined;
    items[count++] = statusItem(status);
    if (body[at] === 0x2c) {
      at++;
      continue;
    }
    if (body[at] === 0x5d && body[at + 1] === 0x7d && at + 2 === end) break;
    return undefined;
  }
  if (count !== expected) {
    throw new SinkError("BAD_RESPONSE", `bulk response has ${count} items for ${expected} operations`, {
      retriable: true,
    });
  }
  return items;
}

/** Items of a parsed bulk response, in request order: `{ "<action>": {...} }` entries unwrapped in place. */
export function parsedItems(body: unknown, expected: number): BulkResponseItem[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== expected) {
    throw new SinkError(
      "BAD_RESPONSE",
      `bulk response has ${Array.isArray(items) ? items.length : "no"} items for ${expected} operations`,
      { retriable: true },
    );
  }
  for (let i = 0; i < items.length; i++) {
    const entry: unknown = items[i];
    let inner: unknown;
    if (entry && typeof entry === "object") {
      for (const action in entry) {
        inner = (entry as Record<string, unknown>)[action];
        break;
      }
    }
    const status = (inner as { status?: unknown } | undefined)?.status;
    if (!inner || typeof inner !== "object" || typeof status !== "number") {
      throw new SinkError("BAD_RESPONSE", "bulk response item without a status", { retriable: true });
    }
    const item = inner as BulkResponseItem;
    items[i] = item.error === undefined && item.result === undefined ? statusItem(status) : item;
  }
  return items as BulkResponseItem[];
}

function toNode(url: string, explicit: { username: string; password: string } | undefined): Node {
  const parsed = new URL(url);
  const https = parsed.protocol === "https:";
  const username = explicit?.username ?? decodeURIComponent(parsed.username);
  const password = explicit?.password ?? decodeURIComponent(parsed.password);
  return {
    https,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port ? Number(parsed.port) : https ? 443 : 80,
    base: parsed.pathname.replace(/\/+$/, ""),
    authorization:
      explicit || parsed.username ? `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` : undefined,
    failures: 0,
    deadUntil: 0,
  };
}

/** A request that failed before an answer, carrying the code the sink's retry logic reads. */
function transportError(code: "CONNECTION_FAILED" | "TIMEOUT" | "ABORTED", message: string): SinkError {
  return new SinkError(code, message, { retriable: true });
}

/**
 * The sink's `BulkClient` over node:http(s) with kept-alive connections: the body the sink encoded goes out as one
 * Buffer, and an `errors: false` answer is read without a JSON parse. Same options as `createOpenSearchClient`
 * (nodes, basic auth, also from `user:password@` in a node URL, TLS/mTLS, request timeout, gzip bodies), no retries
 * of its own (the sink retries with backoff), and the same `SinkError` codes as the opensearch-js based client.
 * Several nodes take turns; one that refused a connection, timed out or answered 502/503/504 is skipped for a
 * while (1 s doubling per failure, at most 60 s) unless every node is.
 */
export function createHttpBulkClient(options: HttpBulkClientOptions): HttpBulkClient {
  const resolved = resolveConnectionOptions(options);
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  let urls: readonly string[] = resolved.nodes;
  let nodes = urls.map((url) => toNode(url, resolved.auth));
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 256, maxFreeSockets: 256 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent({ ...agentOptions, ...resolved.ssl });
  let next = 0;

  function pickNode(): Node {
    const now = Date.now();
    let soonest = nodes[0] as Node;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[(next + i) % nodes.length] as Node;
      if (node.deadUntil <= now) {
        next = (next + i + 1) % nodes.length;
        return node;
      }
      if (node.deadUntil < soonest.deadUntil) soonest = node;
    }
    return soonest;
  }

  function failed(node: Node): void {
    node.failures += 1;
    node.deadUntil = Date.now() + exponentialDelay(node.failures, NODE_PAUSE_MIN_MS, NODE_PAUSE_MAX_MS);
  }

  function send(
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: OutgoingHttpHeaders,
    timeoutMs: number,
    operation: string,
    signal?: AbortSignal,
  ): Promise<Response> {
    const node = pickNode();
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(transportError("ABORTED", `${operation} was aborted`));
        return;
      }
      let settled = false;
      const finish = (error: SinkError | undefined, response?: Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(response as Response);
      };
      const requestHeaders: OutgoingHttpHeaders = { "user-agent": USER_AGENT, ...headers };
      if (node.authorization) requestHeaders.authorization = node.authorization;
      const request = (node.https ? httpsRequest : httpRequest)(
        {
          method,
          hostname: node.hostname,
          port: node.port,
          path: node.base + path,
          headers: requestHeaders,
          agent: node.https ? httpsAgent : httpAgent,
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (err) =>
            finish(transportError("CONNECTION_FAILED", `${operation}: ${redactText(err.message)}`)),
          );
          response.on("close", () => {
            if (!response.complete)
              finish(transportError("CONNECTION_FAILED", `${operation}: the response was cut short`));
          });
          response.on("end", () => {
            if (!response.complete) {
              finish(transportError("CONNECTION_FAILED", `${operation}: the response was cut short`));
              return;
            }
            const status = response.statusCode ?? 0;
            if (status === 502 || status === 503 || status === 504) failed(node);
            else node.failures = 0;
            const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            const encoding = String(response.headers["content-encoding"] ?? "");
            if (!encoding.includes("gzip") && !encoding.includes("deflate")) {
              finish(undefined, { status, body: raw });
              return;
            }
            unzip(raw, (err, inflated) =>
              err
                ? finish(new SinkError("BAD_RESPONSE", `${operation}: unreadable response body`, { retriable: true }))
                : finish(undefined, { status, body: inflated }),
            );
          });
        },
      );
      const onAbort = () => {
        finish(transportError("ABORTED", `${operation} was aborted`));
        request.destroy();
      };
      const timer = setTimeout(() => {
        failed(node);
        finish(transportError("TIMEOUT", `${operation} timed out`));
        request.destroy();
      }, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("error", (err) => {
        if (settled) return;
        failed(node);
        // Node's messages name the address, never the credentials; redacted anyway in case a proxy puts them there.
        finish(
          transportError("CONNECTION_FAILED", `${operation}: cannot reach OpenSearch (${redactText(err.message)})`),
        );
      });
      request.end(body);
    });
  }

  function parseJson(body: Buffer): unknown {
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      return undefined;
    }
  }

  async function bulkBody(body: Buffer, operations: number, signal?: AbortSignal): Promise<BulkResponseItem[]> {
    if (!Number.isInteger(operations) || operations <= 0 || body.length === 0) {
      throw new SinkError("INVALID_OPERATION", "bulk body must hold at least one action/source pair", {
        retriable: false,
        field: "lines",
      });
    }
    const headers: OutgoingHttpHeaders = { "content-type": "application/x-ndjson" };
    let payload = body;
    if (resolved.compression) {
      payload = await new Promise<Buffer>((resolve, reject) =>
        gzip(body, (err, zipped) => (err ? reject(err) : resolve(zipped))),
      );
      headers["content-encoding"] = "gzip";
    }
    headers["content-length"] = payload.length;
    const response = await send(
      "POST",
      `/_bulk?filter_path=${BULK_FILTER_PATH}`,
      payload,
      headers,
      resolved.requestTimeoutMs,
      "bulk request",
      signal,
    );
    if (response.status >= 400) {
      const parsed = parseJson(response.body);
      throw httpStatusError(
        response.status,
        parsed ?? response.body.toString("utf8", 0, 500),
        "bulk request",
        "Response Error",
      );
    }
    const scanned = scanErrorlessItems(response.body, operations);
    if (scanned) return scanned;
    const parsed = parseJson(response.body);
    if (parsed === undefined) {
      throw new SinkError("BAD_RESPONSE", "bulk request: unreadable response body", { retriable: true });
    }
    return parsedItems(parsed, operations);
  }

  return {
    bulkBody,

    bulk(lines, signal) {
      if (lines.length === 0 || lines.length % 2 !== 0) {
        return Promise.reject(
          new SinkError("INVALID_OPERATION", "bulk lines must be non-empty action/source pairs", {
            retriable: false,
            field: "lines",
          }),
        );
      }
      return bulkBody(Buffer.from(`${lines.join("\n")}\n`), lines.length / 2, signal);
    },

    async ping(): Promise<ClusterHealth | null> {
      try {
        const response = await send("GET", "/_cluster/health", undefined, {}, pingTimeoutMs, "ping");
        if (response.status !== 200) return null;
        return clusterHealthOf(parseJson(response.body));
      } catch {
        return null;
      }
    },

    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
    setNodes(replacement) {
      if (replacement.length === 0) return;
      const known = new Map(urls.map((url, i) => [url, nodes[i] as Node]));
      nodes = replacement.map((url) => known.get(url) ?? toNode(url, resolved.auth));
      urls = [...replacement];
      next = 0;
    },
  };
}
