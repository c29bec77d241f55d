// One producer request of the chaos traffic, over REST, Connect JSON or gRPC+zstd, answered as an Outcome: did
// the producer take it, may it be retried, and may it have written anything.
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { zstdCompress, zstdDecompress } from "node:zlib";
import type { TopicSpec } from "./content.ts";

export const PROTOCOLS = [
  "rest-single",
  "rest-batch",
  "connect-single",
  "connect-batch",
  "grpc-single",
  "grpc-batch",
] as const;
export type Protocol = (typeof PROTOCOLS)[number];
/** Share of requests per protocol (singles are many requests but few logs). */
export type Outcome =
  | { ok: true }
  | {
      ok: false;
      kind: string;
      retryable: boolean;
      written: "no" | "maybe";
      retryAfterMs?: number;
      /** The connection was refused: not a byte of the request left the client. */
      refused?: boolean;
      /** The transport error's message, for the report. */
      detail?: string;
    };

const zstd = {
  name: "zstd",
  compress: async (bytes: Uint8Array) => new Uint8Array(await promisify(zstdCompress)(bytes)),
  decompress: async (bytes: Uint8Array) => new Uint8Array(await promisify(zstdDecompress)(bytes)),
};

interface GrpcLike {
  produce(message: unknown, options?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<unknown>;
  produceBatch(
    message: unknown,
    options?: { headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<unknown>;
}

interface ConnectErrorLike {
  code: number;
  rawMessage?: string;
  message: string;
  metadata?: Headers;
}

export class ProducerClient {
  private readonly restUrl: string;
  private readonly grpc: GrpcLike;
  private readonly proto: { TimberSchema: unknown; TimberCollectionSchema: unknown };
  private readonly fromJson: (schema: unknown, json: unknown) => unknown;
  private readonly ConnectError: { from(reason: unknown): ConnectErrorLike };

  constructor(root: string, restUrl: string, grpcUrl: string) {
    this.restUrl = restUrl;
    // The producer's own dependencies (pnpm does not hoist them to the root).
    const requireFromProducer = createRequire(join(root, "apps/producer/package.json"));
    const connect = requireFromProducer("@connectrpc/connect");
    const connectNode = requireFromProducer("@connectrpc/connect-node");
    const protobuf = requireFromProducer("@bufbuild/protobuf");
    const proto = requireFromProducer("@barito-flow/proto");
    this.proto = proto;
    this.fromJson = protobuf.fromJson;
    this.ConnectError = connect.ConnectError;
    this.grpc = connect.createClient(
      proto.Producer,
      connectNode.createGrpcTransport({
        baseUrl: grpcUrl,
        sendCompression: zstd,
        acceptCompression: [zstd],
      }),
    ) as GrpcLike;
  }

  private context(spec: TopicSpec, camel: boolean): Record<string, unknown> {
    return camel
      ? {
          kafkaTopic: spec.kafkaTopic,
          kafkaPartition: spec.partitions,
          kafkaReplicationFactor: spec.replicationFactor ?? 1,
          esIndexPrefix: spec.indexPrefix,
          appMaxTps: spec.appMaxTps,
        }
      : {
          kafka_topic: spec.kafkaTopic,
          kafka_partition: spec.partitions,
          kafka_replication_factor: spec.replicationFactor ?? 1,
          es_index_prefix: spec.indexPrefix,
          app_max_tps: spec.appMaxTps,
        };
  }

  async attempt(
    protocol: Protocol,
    spec: TopicSpec,
    contents: Record<string, unknown>[],
    key: string | undefined,
  ): Promise<Outcome> {
    const signal = AbortSignal.timeout(45_000);
    const single = protocol.endsWith("single");
    if (protocol.startsWith("grpc")) {
      const headers: Record<string, string> = key ? { "idempotency-key": key } : {};
      try {
        if (single) {
          const message = this.fromJson(this.proto.TimberSchema, {
            context: this.context(spec, true),
            content: contents[0],
          });
          await this.grpc.produce(message, { headers, signal });
        } else {
          const message = this.fromJson(this.proto.TimberCollectionSchema, {
            context: this.context(spec, true),
            items: contents.map((c) => ({ content: c })),
          });
          await this.grpc.produceBatch(message, { headers, signal });
        }
        return { ok: true };
      } catch (error) {
        return this.grpcOutcome(error);
      }
    }
    const isRest = protocol.startsWith("rest");
    const path = isRest
      ? single
        ? "/produce"
        : "/produce_batch"
      : single
        ? "/producer.Producer/Produce"
        : "/producer.Producer/ProduceBatch";
    const context = this.context(spec, !isRest);
    const body = single ? { context, content: contents[0] } : { context, items: contents.map((c) => ({ content: c })) };
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (!isRest) headers["connect-protocol-version"] = "1";
    if (key) headers["idempotency-key"] = key;
    // The request or its answer was lost on the way: it may have been written, and may be retried.
    const lost = (error: unknown): Outcome => {
      const kind = networkKind(error);
      return kind === "ECONNREFUSED"
        ? { ok: false, kind: `${isRest ? "rest" : "connect"}:${kind}`, retryable: true, written: "no", refused: true }
        : {
            ok: false,
            kind: `${isRest ? "rest" : "connect"}:${kind}`,
            retryable: true,
            written: "maybe",
            detail: errorChain(error),
          };
    };
    let res: Response;
    try {
      res = await fetch(`${this.restUrl}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      return lost(error);
    }
    let text = "";
    try {
      text = await res.text();
    } catch (error) {
      return lost(error);
    }
    if (res.status === 200) return { ok: true };
    const retryAfter = Number(res.headers.get("retry-after"));
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    let code = String(res.status);
    try {
      const parsed = JSON.parse(text) as { code?: string };
      if (parsed.code) code = `${res.status} ${parsed.code}`;
    } catch {
      // not JSON
    }
    const kind = `${isRest ? "rest" : "connect"}:${code}`;
    const base = retryAfterMs === undefined ? {} : { retryAfterMs };
    if (res.status === 429) return { ok: false, kind, retryable: true, written: "no", ...base };
    if (res.status >= 400 && res.status < 500 && res.status !== 408)
      return { ok: false, kind: `${kind} ${text.slice(0, 200)}`, retryable: false, written: "no" };
    return { ok: false, kind, retryable: true, written: "maybe", ...base };
  }

  private grpcOutcome(error: unknown): Outcome {
    const err = this.ConnectError.from(error);
    const names: Record<number, string> = {
      1: "CANCELED",
      2: "UNKNOWN",
      3: "INVALID_ARGUMENT",
      4: "DEADLINE_EXCEEDED",
      8: "RESOURCE_EXHAUSTED",
      13: "INTERNAL",
      14: "UNAVAILABLE",
    };
    const name = names[err.code] ?? `CODE_${err.code}`;
    const retryAfter = Number(err.metadata?.get("retry-after"));
    const base = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {};
    const kind = `grpc:${name}`;
    if (err.code === 14 && refusedConnection(error))
      return { ok: false, kind: `${kind} ECONNREFUSED`, retryable: true, written: "no", refused: true };
    // A stream the server refused after its GOAWAY was not processed (RFC 9113 §8.7): as safe to send elsewhere as a
    // refused connection, and what a proxy retries on another upstream.
    if (/REFUSED_STREAM/.test(errorChain(error)))
      return { ok: false, kind: `${kind} REFUSED_STREAM`, retryable: true, written: "no", refused: true };
    if (err.code === 3)
      return { ok: false, kind: `${kind} ${err.message.slice(0, 200)}`, retryable: false, written: "no" };
    if (err.code === 8) {
      // RESOURCE_EXHAUSTED is the rate limit (retryable, nothing written) unless the message was too large.
      if (/larger than/i.test(err.message))
        return { ok: false, kind: `${kind} ${err.message.slice(0, 200)}`, retryable: false, written: "no" };
      return { ok: false, kind, retryable: true, written: "no", ...base };
    }
    return { ok: false, kind, retryable: true, written: "maybe", detail: errorChain(error), ...base };
  }
}

/** "message ← cause ← cause" of a transport error, bounded. */
function errorChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const err = current as { message?: unknown; code?: unknown; cause?: unknown };
    parts.push(`${typeof err.code === "string" ? `${err.code} ` : ""}${String(err.message ?? current)}`.slice(0, 160));
    current = err.cause;
  }
  return parts.join(" ← ");
}

/** Whether the cause chain of a transport error is a refused connect (ECONNREFUSED). */
function refusedConnection(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const err = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (err.code === "ECONNREFUSED" || (typeof err.message === "string" && err.message.includes("ECONNREFUSED")))
      return true;
    current = err.cause;
  }
  return false;
}

function networkKind(error: unknown): string {
  const err = error as { name?: string; cause?: { code?: string; name?: string } };
  if (err.name === "TimeoutError") return "timeout";
  return err.cause?.code ?? err.cause?.name ?? err.name ?? "network";
}
