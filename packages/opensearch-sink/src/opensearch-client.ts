import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { Client } from "@opensearch-project/opensearch";
import { SinkError } from "./errors.js";

export interface OpenSearchTlsOptions {
  /** CA bundle: a PEM string or a path to a PEM file. */
  ca?: string;
  /** Client certificate for mTLS: PEM string or path. */
  cert?: string;
  /** Client private key for mTLS: PEM string or path. */
  key?: string;
  /** Default true. Set false only for local testing against self-signed clusters. */
  rejectUnauthorized?: boolean;
}

export interface OpenSearchClientOptions {
  /** Node URLs, e.g. `["http://127.0.0.1:9200"]`. */
  nodes: string[];
  username?: string;
  password?: string;
  tls?: OpenSearchTlsOptions;
  /** Per-request timeout. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Gzip request bodies (log documents compress well). Default true. */
  compression?: boolean;
}

const PEM_MARKER = "-----BEGIN";

function loadPem(value: string, field: string): string {
  if (value.includes(PEM_MARKER)) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (cause) {
    // The path is configuration, not a secret; the file content never appears in the message.
    throw new SinkError("INVALID_CONFIG", `${field}: cannot read PEM file "${value}"`, {
      retriable: false,
      field,
      cause,
    });
  }
}

function validateNodes(nodes: unknown): string[] {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new SinkError("INVALID_CONFIG", "nodes: at least one OpenSearch URL is required", {
      retriable: false,
      field: "nodes",
    });
  }
  return nodes.map((node, i) => {
    const field = `nodes[${i}]`;
    if (typeof node !== "string") {
      throw new SinkError("INVALID_CONFIG", `${field}: must be a URL string`, { retriable: false, field });
    }
    let url: URL;
    try {
      url = new URL(node);
    } catch {
      throw new SinkError("INVALID_CONFIG", `${field}: not a valid URL`, { retriable: false, field });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new SinkError("INVALID_CONFIG", `${field}: protocol must be http or https, got ${url.protocol}`, {
        retriable: false,
        field,
      });
    }
    return node;
  });
}

/** Validated connection settings, shared by the opensearch-js client and the sink's own HTTP bulk client. */
export interface ResolvedConnectionOptions {
  nodes: string[];
  requestTimeoutMs: number;
  auth?: { username: string; password: string };
  /** TLS options with the PEM files read; undefined when none were given. */
  ssl?: TlsOptions;
  compression: boolean;
}

/** Validates client options (throws `SinkError` INVALID_CONFIG with the field) and reads the PEM files. */
export function resolveConnectionOptions(options: OpenSearchClientOptions): ResolvedConnectionOptions {
  const nodes = validateNodes(options?.nodes);
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new SinkError("INVALID_CONFIG", "requestTimeoutMs: must be a positive number", {
      retriable: false,
      field: "requestTimeoutMs",
    });
  }
  if ((options.username === undefined) !== (options.password === undefined)) {
    throw new SinkError("INVALID_CONFIG", "username and password must be given together", {
      retriable: false,
      field: options.username === undefined ? "username" : "password",
    });
  }

  let ssl: TlsOptions | undefined;
  const tls = options.tls;
  if (tls) {
    ssl = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
    if (tls.ca) ssl.ca = loadPem(tls.ca, "tls.ca");
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new SinkError("INVALID_CONFIG", "tls.cert and tls.key must be given together", {
        retriable: false,
        field: tls.cert === undefined ? "tls.cert" : "tls.key",
      });
    }
    if (tls.cert && tls.key) {
      ssl.cert = loadPem(tls.cert, "tls.cert");
      ssl.key = loadPem(tls.key, "tls.key");
    }
  }
  return {
    nodes,
    requestTimeoutMs,
    ...(options.username !== undefined && options.password !== undefined
      ? { auth: { username: options.username, password: options.password } }
      : {}),
    ...(ssl ? { ssl } : {}),
    compression: options.compression !== false,
  };
}

/**
 * Builds the opensearch-js client the sink and the helpers use. Works with OpenSearch 2.x and Elasticsearch 7/8 as
 * long as callers send typeless requests (this package never sends `_type`).
 *
 * `maxRetries` is 0 on purpose: the transport would retry immediately, without backoff, and never on 429 (P9), which
 * multiplies attempts under the sink's own backoff.
 */
export function createOpenSearchClient(options: OpenSearchClientOptions): Client {
  const { nodes, requestTimeoutMs, auth, ssl, compression } = resolveConnectionOptions(options);
  try {
    return new Client({
      nodes,
      maxRetries: 0,
      requestTimeout: requestTimeoutMs,
      ...(compression ? { compression: "gzip" as const } : {}),
      ...(auth ? { auth } : {}),
      ...(ssl ? { ssl } : {}),
    });
  } catch (cause) {
    throw new SinkError("INVALID_CONFIG", "invalid OpenSearch client configuration", { retriable: false, cause });
  }
}
