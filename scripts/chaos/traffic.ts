// The chaos traffic: a careful client sending N uniquely identified logs over REST (/produce, /produce_batch),
// Connect JSON and gRPC+zstd, to several topics, in random batch sizes, with and without Idempotency-Key, and a
// ledger of what happened to every log.
//
// Retry rules (what makes the oracle exact):
// - a request WITH an Idempotency-Key is retried on any retryable error with the SAME key (document ids derive
//   from the key, so a retry overwrites itself), until it succeeds: its logs are "acknowledged";
// - a request WITHOUT a key is never retried (a retry could duplicate). When it fails, its logs are "failed"
//   (may be absent or present once; "rejected" = the server said it wrote nothing: must be absent), and the same
//   contents are sent again under NEW ids, with a key.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { zstdCompress, zstdDecompress } from "node:zlib";
import { content, type TopicSpec } from "./content.ts";

export const State = {
  unsent: 0,
  inflight: 1,
  acked: 2,
  /** Keyless request failed: the log may be absent or present once. */
  failed: 3,
  /** The server refused the request (429/400: nothing written): the log must be absent. */
  rejected: 4,
  /** A keyed request still failing at its deadline: may be absent or present once. */
  gaveUp: 5,
} as const;

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
const PROTOCOL_WEIGHTS: Record<Protocol, number> = {
  "rest-single": 8,
  "rest-batch": 30,
  "connect-single": 5,
  "connect-batch": 20,
  "grpc-single": 7,
  "grpc-batch": 30,
};

type Outcome =
  | { ok: true }
  | { ok: false; kind: string; retryable: boolean; written: "no" | "maybe"; retryAfterMs?: number };

export interface TrafficOptions {
  root: string;
  run: string;
  logs: number;
  /** Target logs/s (the sender is paced so that the fault schedule happens while traffic flows). */
  rate: number;
  concurrency: number;
  maxBatch: number;
  /** Share of requests sent with an Idempotency-Key (0..1). */
  keyedShare: number;
  topics: TopicSpec[];
  restUrl: string;
  grpcUrl: string;
  /** Resolves when the log with this sequence number may be sent (the fault schedule gates traffic). */
  gate: (seq: number) => Promise<void>;
  /** A keyed request still failing after this long gives up (its logs count as "gave up"). */
  requestDeadlineMs: number;
  seed: number;
}

export interface TrafficStats {
  requests: number;
  requestsByProtocol: Record<string, number>;
  keyedRequests: number;
  keylessRequests: number;
  retries: number;
  errors: number;
  errorsByKind: Record<string, number>;
  /** Logs sent for the first time under their own id (originals + resends). */
  logsSent: number;
  acked: number;
  failed: number;
  rejected: number;
  gaveUp: number;
  resentLogs: number;
  lastAckAt: number;
  /** 4xx answers to valid requests: bugs. */
  unexpectedRefusals: { at: number; protocol: string; detail: string }[];
}

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Traffic {
  readonly options: TrafficOptions;
  /** State of each sequence number (see State); originals are 0..logs-1, resends follow. */
  readonly state: Uint8Array;
  /** Topic index of each sequence number. */
  readonly topicOf: Uint8Array;
  nextExtra: number;
  readonly stats: TrafficStats = {
    requests: 0,
    requestsByProtocol: {},
    keyedRequests: 0,
    keylessRequests: 0,
    retries: 0,
    errors: 0,
    errorsByKind: {},
    logsSent: 0,
    acked: 0,
    failed: 0,
    rejected: 0,
    gaveUp: 0,
    resentLogs: 0,
    lastAckAt: 0,
    unexpectedRefusals: [],
  };
  private cursor = 0;
  private readonly resendQueue: { topic: number; count: number }[] = [];
  private inflightRequests = 0;
  private startedAt = 0;
  private readonly random: () => number;
  private readonly grpc: GrpcLike;
  private readonly proto: { TimberSchema: unknown; TimberCollectionSchema: unknown };
  private readonly fromJson: (schema: unknown, json: unknown) => unknown;
  private readonly ConnectError: { from(reason: unknown): ConnectErrorLike };
  private readonly ackWaiters: { after: number; resolve: (at: number) => void }[] = [];
  private keyCounter = 0;

  constructor(options: TrafficOptions) {
    this.options = options;
    const capacity = options.logs * 2 + 10_000;
    this.state = new Uint8Array(capacity);
    this.topicOf = new Uint8Array(capacity);
    this.nextExtra = options.logs;
    let seed = options.seed >>> 0;
    this.random = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    // The producer's own dependencies (pnpm does not hoist them to the root).
    const requireFromProducer = createRequire(join(options.root, "apps/producer/package.json"));
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
        baseUrl: options.grpcUrl,
        sendCompression: zstd,
        acceptCompression: [zstd],
      }),
    ) as GrpcLike;
  }

  /** Resolves with the completion time of the first successful request that completes after `after`. */
  firstAckAfter(after: number): Promise<number> {
    if (this.stats.lastAckAt > after) return Promise.resolve(this.stats.lastAckAt);
    return new Promise((resolve) => this.ackWaiters.push({ after, resolve }));
  }

  get done(): boolean {
    return this.cursor >= this.options.logs && this.resendQueue.length === 0 && this.inflightRequests === 0;
  }

  /** Original logs handed to requests so far (0..logs). */
  get progress(): number {
    return this.cursor;
  }

  async run(): Promise<void> {
    this.startedAt = Date.now();
    await Promise.all(Array.from({ length: this.options.concurrency }, () => this.worker()));
  }

  private pick<T extends string>(weights: Record<T, number>): T {
    const entries = Object.entries(weights) as [T, number][];
    let r = this.random() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      r -= w;
      if (r < 0) return key;
    }
    return (entries.at(-1) as [T, number])[0];
  }

  /** Log-uniform batch size in 1..maxBatch (many small batches, some large ones). */
  private batchSize(): number {
    return Math.max(
      1,
      Math.min(this.options.maxBatch, Math.floor(Math.exp(this.random() * Math.log(this.options.maxBatch + 1)))),
    );
  }

  private async worker(): Promise<void> {
    for (;;) {
      const resend = this.resendQueue.shift();
      if (resend) {
        await this.resend(resend.topic, resend.count);
        continue;
      }
      if (this.cursor >= this.options.logs) {
        // Others may still fail and queue resends: wait for them.
        if (this.inflightRequests === 0 && this.resendQueue.length === 0) return;
        await sleep(50);
        continue;
      }
      let protocol = this.pick(PROTOCOL_WEIGHTS);
      const size = protocol.endsWith("single") ? 1 : this.batchSize();
      const start = this.cursor;
      const count = Math.min(size, this.options.logs - start);
      if (count > 1 && protocol.endsWith("single")) protocol = "rest-batch";
      this.cursor += count;
      this.inflightRequests++;
      try {
        // Pace: never ahead of rate × elapsed; and never past the next fault's threshold before it started.
        const allowedAt = this.startedAt + (start / this.options.rate) * 1000;
        if (allowedAt > Date.now()) await sleep(allowedAt - Date.now());
        await this.options.gate(start);
        const seqs = Array.from({ length: count }, (_, i) => start + i);
        const topic = Math.floor(this.random() * this.options.topics.length);
        const keyed = this.random() < this.options.keyedShare;
        await this.send(protocol, topic, seqs, keyed);
      } finally {
        this.inflightRequests--;
      }
    }
  }

  private async resend(topic: number, count: number): Promise<void> {
    this.inflightRequests++;
    try {
      const seqs = Array.from({ length: count }, () => this.nextExtra++);
      if (this.nextExtra > this.state.length) throw new Error("too many resent logs for the ledger");
      this.stats.resentLogs += count;
      const protocol =
        count > 1 ? (["rest-batch", "connect-batch", "grpc-batch"] as const)[this.stats.resentLogs % 3] : "rest-single";
      await this.send(protocol as Protocol, topic, seqs, true);
    } finally {
      this.inflightRequests--;
    }
  }

  private async send(protocol: Protocol, topic: number, seqs: number[], keyed: boolean): Promise<void> {
    const spec = this.options.topics[topic] as TopicSpec;
    for (const seq of seqs) {
      this.topicOf[seq] = topic;
      this.state[seq] = State.inflight;
    }
    this.stats.logsSent += seqs.length;
    this.stats.requests++;
    this.stats.requestsByProtocol[protocol] = (this.stats.requestsByProtocol[protocol] ?? 0) + 1;
    if (keyed) this.stats.keyedRequests++;
    else this.stats.keylessRequests++;
    const key = keyed ? `${this.options.run}-k${++this.keyCounter}-${randomUUID().slice(0, 8)}` : undefined;
    const contents = seqs.map((seq) => content(this.options.run, seq, spec.kafkaTopic));
    const requestStarted = Date.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(protocol, spec, contents, key);
      if (outcome.ok) {
        for (const seq of seqs) this.state[seq] = State.acked;
        this.stats.acked += seqs.length;
        const now = Date.now();
        this.stats.lastAckAt = now;
        for (let i = this.ackWaiters.length - 1; i >= 0; i--) {
          const waiter = this.ackWaiters[i] as { after: number; resolve: (at: number) => void };
          if (now > waiter.after) {
            waiter.resolve(now);
            this.ackWaiters.splice(i, 1);
          }
        }
        return;
      }
      this.stats.errors++;
      this.stats.errorsByKind[outcome.kind] = (this.stats.errorsByKind[outcome.kind] ?? 0) + 1;
      if (!outcome.retryable) {
        this.stats.unexpectedRefusals.push({ at: Date.now(), protocol, detail: outcome.kind });
        for (const seq of seqs) this.state[seq] = State.rejected;
        this.stats.rejected += seqs.length;
        return;
      }
      if (!keyed) {
        const state = outcome.written === "no" ? State.rejected : State.failed;
        for (const seq of seqs) this.state[seq] = state;
        if (state === State.rejected) this.stats.rejected += seqs.length;
        else this.stats.failed += seqs.length;
        this.resendQueue.push({ topic, count: seqs.length });
        return;
      }
      if (Date.now() - requestStarted > this.options.requestDeadlineMs) {
        for (const seq of seqs) this.state[seq] = State.gaveUp;
        this.stats.gaveUp += seqs.length;
        return;
      }
      this.stats.retries++;
      const backoff = Math.min(3_000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + this.random());
      await sleep(outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, 5_000) : backoff);
    }
  }

  private context(spec: TopicSpec, camel: boolean): Record<string, unknown> {
    return camel
      ? {
          kafkaTopic: spec.kafkaTopic,
          kafkaPartition: spec.partitions,
          kafkaReplicationFactor: 1,
          esIndexPrefix: spec.indexPrefix,
          appMaxTps: spec.appMaxTps,
        }
      : {
          kafka_topic: spec.kafkaTopic,
          kafka_partition: spec.partitions,
          kafka_replication_factor: 1,
          es_index_prefix: spec.indexPrefix,
          app_max_tps: spec.appMaxTps,
        };
  }

  private async attempt(
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
    let res: Response;
    try {
      res = await fetch(`${this.options.restUrl}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      return {
        ok: false,
        kind: `${isRest ? "rest" : "connect"}:${networkKind(error)}`,
        retryable: true,
        written: "maybe",
      };
    }
    let text = "";
    try {
      text = await res.text();
    } catch (error) {
      return {
        ok: false,
        kind: `${isRest ? "rest" : "connect"}:${networkKind(error)}`,
        retryable: true,
        written: "maybe",
      };
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
    if (err.code === 3)
      return { ok: false, kind: `${kind} ${err.message.slice(0, 200)}`, retryable: false, written: "no" };
    if (err.code === 8) {
      // RESOURCE_EXHAUSTED is the rate limit (retryable, nothing written) unless the message was too large.
      if (/larger than/i.test(err.message))
        return { ok: false, kind: `${kind} ${err.message.slice(0, 200)}`, retryable: false, written: "no" };
      return { ok: false, kind, retryable: true, written: "no", ...base };
    }
    return { ok: false, kind, retryable: true, written: "maybe", ...base };
  }
}

function networkKind(error: unknown): string {
  const err = error as { name?: string; cause?: { code?: string; name?: string } };
  if (err.name === "TimeoutError") return "timeout";
  return err.cause?.code ?? err.cause?.name ?? err.name ?? "network";
}
