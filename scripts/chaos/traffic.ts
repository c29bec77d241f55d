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
import { content, type TopicSpec } from "./content.ts";
import { type Outcome, type Protocol, ProducerClient } from "./producer-client.ts";

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

const PROTOCOL_WEIGHTS: Record<Protocol, number> = {
  "rest-single": 8,
  "rest-batch": 30,
  "connect-single": 5,
  "connect-batch": 20,
  "grpc-single": 7,
  "grpc-batch": 30,
};

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
  /** The producer replicas; each request goes to the next one, as a round-robin load balancer would send it. */
  replicas: { restUrl: string; grpcUrl: string }[];
  /**
   * "schedule": log n is due at start + n / rate, so a sender held back (a gate, an outage) catches up in a burst;
   * "rate": never faster than `rate`, no credit piles up while held back (the cluster run's steady offered load).
   */
  pacing?: "schedule" | "rate";
  /** With "rate" pacing: the rate in force now (default `rate`), asked before each request. */
  rateNow?: () => number;
  /** Resolves when the log with this sequence number may be sent (the fault schedule gates traffic). */
  gate: (seq: number) => Promise<void>;
  /** A keyed request still failing after this long gives up (its logs count as "gave up"). */
  requestDeadlineMs: number;
  seed: number;
}

export interface AttemptLog {
  sentAt: number[];
  endedAt: number[];
  ok: boolean[];
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
  /** The first error messages (transport errors), for the report. */
  errorSamples: { at: number; kind: string; detail: string }[];
  /** Attempts refused at connect (ECONNREFUSED, nothing sent) and sent again to the next replica. */
  redirected: number;
  /** 4xx answers to valid requests: bugs. */
  unexpectedRefusals: { at: number; protocol: string; detail: string }[];
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
    redirected: 0,
    errorSamples: [],
    unexpectedRefusals: [],
  };
  /** Every attempt that reached a replica (or failed on every one): when it was sent, when it ended, how. */
  readonly attempts: AttemptLog = { sentAt: [], endedAt: [], ok: [] };
  /** 1 for each sequence number whose request needed more than one attempt (a retry may write it again). */
  readonly retried: Uint8Array;
  private cursor = 0;
  private readonly resendQueue: { topic: number; count: number }[] = [];
  private inflightRequests = 0;
  private startedAt = 0;
  private readonly random: () => number;
  private readonly clients: ProducerClient[];
  private nextReplica = 0;
  /** The replicas the load balancer routes to (a readiness-gated endpoint list, as a Kubernetes Service keeps). */
  private readonly inRotation: boolean[];
  private readonly ackWaiters: { after: number; resolve: (at: number) => void }[] = [];
  private keyCounter = 0;

  constructor(options: TrafficOptions) {
    this.options = options;
    const capacity = options.logs * 2 + 10_000;
    this.state = new Uint8Array(capacity);
    this.topicOf = new Uint8Array(capacity);
    this.retried = new Uint8Array(capacity);
    this.nextExtra = options.logs;
    let seed = options.seed >>> 0;
    this.random = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    this.clients = options.replicas.map((r) => new ProducerClient(options.root, r.restUrl, r.grpcUrl));
    this.inRotation = options.replicas.map(() => true);
  }

  /** Takes replica `index` out of the load balancer's rotation (it is stopping) or back in (it is ready). */
  setInRotation(index: number, on: boolean): void {
    this.inRotation[index] = on;
  }

  /** Resolves with the completion time of the first successful request that completes after `after`. */
  firstAckAfter(after: number): Promise<number> {
    // The attempt log is in completion order: the first success completing after `after`, if one did already.
    const { endedAt, ok } = this.attempts;
    let lo = 0;
    let hi = endedAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((endedAt[mid] as number) <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < endedAt.length; i++) if (ok[i]) return Promise.resolve(endedAt[i] as number);
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
        const allowedAt = this.dueAt(start, count);
        if (allowedAt > Date.now()) await sleep(allowedAt - Date.now());
        this.gated++;
        await this.options.gate(start).finally(() => this.gated--);
        const seqs = Array.from({ length: count }, (_, i) => start + i);
        const topic = Math.floor(this.random() * this.options.topics.length);
        const keyed = this.random() < this.options.keyedShare;
        await this.send(protocol, topic, seqs, keyed);
      } finally {
        this.inflightRequests--;
      }
    }
  }

  private paceAt = 0;
  /** Workers waiting at the fault schedule's gate. */
  private gated = 0;

  /** True when no request can come: the traffic is over, or every worker waits for the fault schedule. */
  get held(): boolean {
    return this.done || this.gated >= this.options.concurrency;
  }

  private dueAt(start: number, count: number): number {
    if (this.options.pacing !== "rate") return this.startedAt + (start / this.options.rate) * 1000;
    // At most one second of credit: a pause (a gate, every worker waiting on a slow answer) is not made up for.
    const rate = this.options.rateNow?.() ?? this.options.rate;
    this.paceAt = Math.max(this.paceAt, Date.now() - 1_000) + (count / rate) * 1000;
    return this.paceAt;
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

  /**
   * One attempt, through the load balancer: the next replica in turn; a replica that refuses the connection (nothing
   * was sent, so nothing can have been written) is skipped for the next one, as a load balancer retries a connect
   * failure. Anything else — a reset after the request left, a timeout, an error status — is the client's failure.
   */
  private async attempt(
    protocol: Protocol,
    spec: TopicSpec,
    contents: Record<string, unknown>[],
    key: string | undefined,
  ): Promise<Outcome> {
    const sentAt = Date.now();
    let outcome: Outcome = { ok: false, kind: "no replica", retryable: true, written: "no" };
    const first = this.nextReplica++;
    const n = this.clients.length;
    const order = Array.from({ length: n }, (_, k) => (first + k) % n);
    const routable = order.filter((i) => this.inRotation[i]);
    for (const i of routable.length > 0 ? routable : order) {
      const client = this.clients[i] as ProducerClient;
      outcome = await client.attempt(protocol, spec, contents, key);
      if (outcome.ok || !outcome.refused) break;
      this.stats.redirected++;
    }
    this.attempts.sentAt.push(sentAt);
    this.attempts.endedAt.push(Date.now());
    this.attempts.ok.push(outcome.ok);
    return outcome;
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
      if (attempt > 0) for (const seq of seqs) this.retried[seq] = 1;
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
      if (outcome.detail && this.stats.errorSamples.length < 50)
        this.stats.errorSamples.push({ at: Date.now(), kind: outcome.kind, detail: outcome.detail });
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
}
