import { beforeEach, describe, expect, it } from "@jest/globals";
import { noopLogger } from "@barito-flow/logger";
import { createBulkSink } from "./bulk-sink.js";
import { SinkClosedError, SinkError } from "./errors.js";
import type { BulkClient, BulkOperation, BulkResponseItem, BulkSinkOptions, Clock, ItemOutcome } from "./types.js";

/** Manual clock: time moves only through `advance`, which runs due timers in order and lets promises settle. */
class ManualClock implements Clock {
  private current = 0;
  private nextId = 1;
  private timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.current;
  }
  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  pendingTimers(): number {
    return this.timers.size;
  }
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.current = next[1].at;
      next[1].callback();
      await settle();
    }
    this.current = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

type Responder = (ops: ParsedOp[], call: number) => BulkResponseItem[] | Error | Promise<BulkResponseItem[] | Error>;
interface ParsedOp {
  action: string;
  index: string;
  id: string;
  source: string;
}

/** Whether the fake clients take the encoded body (`bulkBody`, as the HTTP client does) or lines (`bulk`). */
let encodedBodies = false;

/** Fake BulkClient: records every request and answers with the responder's per-item statuses. */
class FakeBulkClient implements BulkClient {
  calls: ParsedOp[][] = [];
  signals: AbortSignal[] = [];
  private release: Array<() => void> = [];
  /** When true, requests stay open until `releaseAll()`. */
  hold = false;
  bulkBody?: (body: Buffer, operations: number, signal?: AbortSignal) => Promise<BulkResponseItem[]>;

  constructor(private responder: Responder = (ops) => ops.map(() => ({ status: 201, result: "created" }))) {
    if (encodedBodies) {
      this.bulkBody = (body, operations, signal) => {
        const text = body.toString();
        expect(text.endsWith("\n")).toBe(true);
        const lines = text.slice(0, -1).split("\n");
        expect(lines).toHaveLength(operations * 2);
        return this.bulk(lines, signal);
      };
    }
  }

  setResponder(responder: Responder): void {
    this.responder = responder;
  }

  async bulk(lines: string[], signal?: AbortSignal): Promise<BulkResponseItem[]> {
    const ops: ParsedOp[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = JSON.parse(lines[i] as string) as Record<string, { _index: string; _id: string }>;
      const [action, target] = Object.entries(meta)[0] as [string, { _index: string; _id: string }];
      ops.push({ action, index: target._index, id: target._id, source: lines[i + 1] as string });
    }
    const call = this.calls.length;
    this.calls.push(ops);
    if (signal) this.signals.push(signal);
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.release.push(resolve);
        signal?.addEventListener("abort", () => reject(new SinkError("ABORTED", "aborted", { retriable: true })));
      });
    }
    const answer = await this.responder(ops, call);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  releaseAll(): void {
    const release = this.release;
    this.release = [];
    for (const r of release) r();
  }

  async ping() {
    return { status: "green" as const, clusterName: "fake", numberOfNodes: 1 };
  }

  docCount(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

function op(i: number, overrides: Partial<BulkOperation> = {}): BulkOperation {
  return { action: "index", index: "logs-test", id: `id-${i}`, document: `{"n":${i}}`, ...overrides };
}

function setup(options: Partial<BulkSinkOptions> = {}, client = new FakeBulkClient()) {
  const clock = new ManualClock();
  // random() = 1 turns full jitter into its ceiling, so delays are predictable.
  const sink = createBulkSink({ client, clock, random: () => 0.999999, ...options });
  return { sink, client, clock };
}

function track(promise: Promise<ItemOutcome>) {
  const state: { outcome?: ItemOutcome; error?: unknown } = {};
  promise.then(
    (outcome) => {
      state.outcome = outcome;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return state;
}

const requestError = (status?: number) =>
  new SinkError(status === undefined ? "CONNECTION_FAILED" : status >= 500 ? "SERVER_ERROR" : "REQUEST_REJECTED", "x", {
    retriable: status === undefined || status === 429 || status >= 500,
    ...(status === undefined ? {} : { status }),
  });

describe.each([false, true])("BulkSink (encoded bodies: %s)", (encoded) => {
  beforeEach(() => {
    encodedBodies = encoded;
  });

  it("submit() reports each outcome to its callback, throws for invalid input and a closed sink", async () => {
    const { sink, client, clock } = setup({ maxDocs: 2, flushIntervalMs: 10_000 });
    client.setResponder((ops) =>
      ops.map((o) => (o.id === "id-1" ? { status: 400, error: { type: "x" } } : { status: 201 })),
    );
    const results: Array<ItemOutcome | Error> = [];
    sink.submit(op(0), (result) => results.push(result));
    sink.submit(op(1), (result) => results.push(result));
    expect(() => sink.submit(op(2, { index: "Bad" }), () => {})).toThrow(SinkError);
    await clock.advance(0);
    expect(results).toEqual([
      { status: "indexed", httpStatus: 201 },
      expect.objectContaining({ status: "rejected", httpStatus: 400, errorType: "x" }),
    ]);
    await sink.close();
    expect(() => sink.submit(op(3), () => {})).toThrow(SinkClosedError);
  });

  it("flushes when maxDocs operations are buffered, without waiting for the timer", async () => {
    const { sink, client, clock } = setup({ maxDocs: 3, flushIntervalMs: 10_000 });
    const outcomes = [0, 1, 2].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]?.map((o) => o.id)).toEqual(["id-0", "id-1", "id-2"]);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed", "indexed"]);
    expect(sink.stats()).toMatchObject({ indexed: 3, bulkRequests: 1, pending: 0, buffered: 0 });
  });

  it("flushes when maxBytes is reached and never puts more than maxBytes in one request", async () => {
    const doc = `{"pad":"${"x".repeat(100)}"}`;
    const { sink, client, clock } = setup({ maxDocs: 1000, maxBytes: 400, flushIntervalMs: 10_000 });
    for (let i = 0; i < 5; i++) void sink.add(op(i, { document: doc }));
    await clock.advance(0);
    // each op is ~150 bytes, so a batch holds 2 and the 5th waits for the timer
    expect(client.calls.map((c) => c.length)).toEqual([2, 2]);
    await clock.advance(10_000);
    expect(client.calls.map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it("bounds latency from the first buffered document, even under a steady trickle", async () => {
    const { sink, client, clock } = setup({ maxDocs: 100, flushIntervalMs: 500 });
    void sink.add(op(0));
    for (let i = 1; i <= 4; i++) {
      await clock.advance(100);
      void sink.add(op(i));
    }
    expect(client.calls).toHaveLength(0);
    await clock.advance(99); // t = 499
    expect(client.calls).toHaveLength(0);
    await clock.advance(1); // t = 500: an idle timer refreshed on each add would not fire here
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]).toHaveLength(5);
  });

  it("retries only the items that failed with 429, with backoff, until they succeed", async () => {
    const client = new FakeBulkClient((ops, call) =>
      ops.map((o) =>
        o.id === "id-1" && call < 3
          ? { status: 429, error: { type: "es_rejected_execution_exception", reason: "queue full" } }
          : { status: 201, result: "created" },
      ),
    );
    const { sink, clock } = setup({ maxDocs: 3, retry: { minDelayMs: 100, maxDelayMs: 1000 } }, client);
    const outcomes = [0, 1, 2].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(outcomes[0]?.outcome?.status).toBe("indexed");
    expect(outcomes[1]?.outcome).toBeUndefined();
    expect(sink.stats()).toMatchObject({ awaitingRetry: 1, retriedItems: 1 });
    await clock.advance(98); // first retry waits floor(0.999999 * 100) = 99 ms (jitter ceiling for attempt 1)
    expect(client.calls).toHaveLength(1);
    await clock.advance(1);
    expect(client.calls[1]?.map((o) => o.id)).toEqual(["id-1"]);
    await clock.advance(198); // second retry: 199 ms (ceiling doubled)
    expect(client.calls).toHaveLength(2);
    await clock.advance(1);
    expect(client.calls).toHaveLength(3);
    await clock.advance(400);
    expect(client.calls[3]?.map((o) => o.id)).toEqual(["id-1"]);
    expect(outcomes[1]?.outcome).toEqual({ status: "indexed", httpStatus: 201, result: "created" });
    expect(sink.stats()).toMatchObject({ indexed: 3, retriedItems: 3, awaitingRetry: 0, pending: 0 });
  });

  it("rejects 400-class item failures at once, with type and reason, and does not retry them", async () => {
    const client = new FakeBulkClient((ops) =>
      ops.map((o) =>
        o.id === "id-1"
          ? {
              status: 400,
              error: {
                type: "mapper_parsing_exception",
                reason: "failed to parse field [n] of type [long]",
                caused_by: { type: "illegal_argument_exception", reason: 'For input string: "abc"' },
              },
            }
          : { status: 200, result: "updated" },
      ),
    );
    const { sink, clock } = setup({ maxDocs: 2 }, client);
    const a = track(sink.add(op(0)));
    const b = track(sink.add(op(1)));
    await clock.advance(60_000);
    expect(a.outcome).toEqual({ status: "indexed", httpStatus: 200, result: "updated" });
    expect(b.outcome).toEqual({
      status: "rejected",
      httpStatus: 400,
      errorType: "mapper_parsing_exception",
      reason: 'failed to parse field [n] of type [long]; caused by: For input string: "abc"',
    });
    expect(client.calls).toHaveLength(1);
    expect(sink.stats()).toMatchObject({ indexed: 1, rejected: 1, retriedItems: 0 });
  });

  it("reports 409 on create as duplicate", async () => {
    const client = new FakeBulkClient((ops) =>
      ops.map(() => ({ status: 409, error: { type: "version_conflict_engine_exception", reason: "exists" } })),
    );
    const { sink, clock } = setup({ maxDocs: 1 }, client);
    const created = track(sink.add(op(0, { action: "create" })));
    await clock.advance(0);
    expect(created.outcome).toEqual({ status: "duplicate", httpStatus: 409 });
    expect(sink.stats().duplicates).toBe(1);
  });

  it("retries the whole batch after a request-level failure and reports degraded health meanwhile", async () => {
    const client = new FakeBulkClient((ops, call) =>
      call < 3 ? requestError() : ops.map(() => ({ status: 201, result: "created" })),
    );
    const flushes: boolean[] = [];
    const { sink, clock } = setup(
      {
        maxDocs: 2,
        degradedAfterFailures: 3,
        retry: { minDelayMs: 50, maxDelayMs: 100 },
        onFlush: (s) => flushes.push(s.ok),
      },
      client,
    );
    const outcomes = [0, 1].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(sink.health()).toEqual({ state: "ok", consecutiveFailures: 1, lastErrorCode: "CONNECTION_FAILED" });
    await clock.advance(50);
    await clock.advance(100);
    expect(client.calls).toHaveLength(3);
    expect(sink.health().state).toBe("degraded");
    await clock.advance(100);
    expect(client.calls).toHaveLength(4);
    expect(client.calls.every((c) => c.map((o) => o.id).join() === "id-0,id-1")).toBe(true);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed"]);
    expect(sink.health()).toEqual({ state: "ok", consecutiveFailures: 0, lastErrorCode: "CONNECTION_FAILED" });
    expect(sink.stats()).toMatchObject({ retriedRequests: 3, failedRequests: 3, bulkRequests: 4 });
    expect(flushes).toEqual([false, false, false, true]);
  });

  it("rejects every document of a request refused with a non-retriable 4xx, without retrying", async () => {
    const client = new FakeBulkClient(() => requestError(400));
    const { sink, clock } = setup({ maxDocs: 2 }, client);
    const outcomes = [0, 1].map((i) => track(sink.add(op(i))));
    await clock.advance(60_000);
    expect(client.calls).toHaveLength(1);
    expect(outcomes[0]?.outcome).toMatchObject({ status: "rejected", httpStatus: 400, errorType: "REQUEST_REJECTED" });
    expect(outcomes[1]?.outcome?.status).toBe("rejected");
  });

  it("splits a batch refused with 413 until the parts fit, rejecting a single oversized document", async () => {
    const client = new FakeBulkClient((ops) =>
      ops.length > 1 || ops[0]?.id === "id-3" ? requestError(413) : ops.map(() => ({ status: 201 })),
    );
    const { sink, clock } = setup({ maxDocs: 4 }, client);
    const outcomes = [0, 1, 2, 3].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed", "indexed", "rejected"]);
    expect(outcomes[3]?.outcome).toMatchObject({ httpStatus: 413 });
  });

  it("never has more than maxInFlight requests open", async () => {
    const client = new FakeBulkClient();
    client.hold = true;
    const { sink, clock } = setup({ maxDocs: 1, maxInFlight: 2 }, client);
    const outcomes = [0, 1, 2, 3, 4].map((i) => track(sink.add(op(i))));
    await clock.advance(1000);
    expect(client.calls).toHaveLength(2);
    expect(sink.stats()).toMatchObject({ inFlightRequests: 2, buffered: 3, pending: 5 });
    client.releaseAll();
    await clock.advance(0);
    expect(client.calls).toHaveLength(4);
    client.hold = false;
    client.releaseAll();
    await clock.advance(0);
    expect(client.calls).toHaveLength(5);
    expect(outcomes.every((o) => o.outcome?.status === "indexed")).toBe(true);
    expect(sink.stats().inFlightRequests).toBe(0);
  });

  it("signals saturation at maxBufferedDocs and drains below resumeBelowDocs", async () => {
    const client = new FakeBulkClient();
    client.hold = true;
    const { sink, clock } = setup({ maxDocs: 2, maxInFlight: 1, maxBufferedDocs: 6, resumeBelowDocs: 2 }, client);
    let drains = 0;
    sink.onDrain(() => drains++);
    for (let i = 0; i < 5; i++) void sink.add(op(i));
    expect(sink.isSaturated()).toBe(false);
    void sink.add(op(5));
    expect(sink.isSaturated()).toBe(true);
    let capacity = false;
    void sink.waitForCapacity().then(() => {
      capacity = true;
    });
    client.releaseAll(); // first batch of 2 done -> 4 pending: still saturated (hysteresis)
    await clock.advance(0);
    expect(sink.isSaturated()).toBe(true);
    expect(capacity).toBe(false);
    client.releaseAll(); // 2 pending -> drained
    await clock.advance(0);
    expect(sink.isSaturated()).toBe(false);
    expect(capacity).toBe(true);
    expect(drains).toBe(1);
    await expect(sink.waitForCapacity()).resolves.toBeUndefined();
    client.hold = false;
    client.releaseAll();
    await clock.advance(0);
    expect(sink.stats().pending).toBe(0);
  });

  it("flush() sends a partial batch immediately", async () => {
    const { sink, client, clock } = setup({ maxDocs: 100, flushIntervalMs: 10_000 });
    const outcome = track(sink.add(op(0)));
    await sink.flush();
    await clock.advance(0);
    expect(client.calls).toHaveLength(1);
    expect(outcome.outcome?.status).toBe("indexed");
  });

  it("close() delivers buffered documents first, then refuses new ones", async () => {
    const { sink, client, clock } = setup({ maxDocs: 100, flushIntervalMs: 10_000 });
    const outcomes = [0, 1].map((i) => track(sink.add(op(i))));
    const closed = sink.close({ timeoutMs: 1000 });
    await clock.advance(0);
    await closed;
    expect(client.calls).toHaveLength(1);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed"]);
    await expect(sink.add(op(9))).rejects.toBeInstanceOf(SinkClosedError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("logs an outage once, then a summary at most every 10 s, then its end, not a line per failed request", async () => {
    let down = true;
    const client = new FakeBulkClient((ops) => (down ? requestError(503) : ops.map(() => ({ status: 201 }))));
    const lines: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
    const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
      lines.push({ level, message, ...(meta ? { meta } : {}) });
    const logger = { ...noopLogger, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
    const { sink, clock } = setup({ maxDocs: 1, retry: { minDelayMs: 100, maxDelayMs: 100 }, logger }, client);
    const outcomes = [0, 1, 2].map((i) => track(sink.add(op(i))));
    await clock.advance(25_000);
    expect(client.calls.length).toBeGreaterThan(200);
    down = false;
    await clock.advance(200);
    expect(outcomes.every((o) => o.outcome?.status === "indexed")).toBe(true);
    const told = lines.filter((line) => line.level !== "debug").map((line) => line.message);
    expect(told).toEqual([
      "bulk requests failing; documents are kept and retried until OpenSearch accepts them",
      expect.stringMatching(/^OpenSearch unreachable for 1\d s, 3 documents waiting, \d+ retries$/),
      expect.stringMatching(/^OpenSearch unreachable for 2\d s, 3 documents waiting, \d+ retries$/),
      expect.stringMatching(/^bulk requests succeed again after 2\d s$/),
    ]);
    expect(lines.at(-1)?.meta).toMatchObject({
      outageMs: expect.any(Number),
      retries: expect.any(Number),
    });
  });

  it("close() gives up after timeoutMs: stops retrying and rejects what is left with SinkClosedError", async () => {
    const client = new FakeBulkClient(() => requestError(503));
    const { sink, clock } = setup({ maxDocs: 1, retry: { minDelayMs: 100, maxDelayMs: 100 } }, client);
    const outcome = track(sink.add(op(0)));
    await clock.advance(0);
    let done = false;
    void sink.close({ timeoutMs: 1000 }).then(() => {
      done = true;
    });
    await clock.advance(999);
    expect(done).toBe(false);
    const callsBeforeTimeout = client.calls.length;
    expect(callsBeforeTimeout).toBeGreaterThan(5);
    await clock.advance(1);
    expect(done).toBe(true);
    expect(outcome.error).toBeInstanceOf(SinkClosedError);
    expect((outcome.error as SinkError).code).toBe("SINK_CLOSED");
    await clock.advance(10_000);
    expect(client.calls.length).toBe(callsBeforeTimeout);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("close() aborts a request still in flight at the deadline", async () => {
    const client = new FakeBulkClient();
    client.hold = true;
    const { sink, clock } = setup({ maxDocs: 1 }, client);
    const outcome = track(sink.add(op(0)));
    await clock.advance(0);
    const closed = sink.close({ timeoutMs: 500 });
    await clock.advance(500);
    await closed;
    expect(client.signals[0]?.aborted).toBe(true);
    expect(outcome.error).toBeInstanceOf(SinkClosedError);
  });

  it("rejects invalid operations with a field path and never sends them", async () => {
    const { sink, client, clock } = setup();
    const cases: Array<[unknown, string]> = [
      [null, "operation"],
      [{ ...op(0), action: "update" }, "action"],
      [{ ...op(0), index: "Logs" }, "index"],
      [{ ...op(0), index: "_logs" }, "index"],
      [{ ...op(0), index: "" }, "index"],
      [{ ...op(0), id: "" }, "id"],
      [{ ...op(0), document: '{"a":1}\n{"index":{}}' }, "document"],
      [{ ...op(0), document: "[1,2]" }, "document"],
      [{ ...op(0), document: { big: 1n } }, "document"],
      [{ ...op(0), document: 42 }, "document"],
    ];
    for (const [input, field] of cases) {
      const error = await sink.add(input as BulkOperation).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SinkError);
      expect(error).toMatchObject({ code: "INVALID_OPERATION", field, retriable: false });
    }
    await clock.advance(10_000);
    expect(client.calls).toHaveLength(0);
    expect(sink.stats().pending).toBe(0);
  });

  it("keeps a pre-serialised document byte for byte and serialises objects", async () => {
    const { sink, client, clock } = setup({ maxDocs: 2 });
    const raw = '{"z":1,"a":12345678901234567890,"@timestamp":"2026-11-22T00:00:00Z"}';
    void sink.add(op(0, { document: raw }));
    void sink.add(op(1, { document: { b: 2, a: "x" } }));
    await clock.advance(0);
    expect(client.calls[0]?.map((o) => o.source)).toEqual([raw, '{"b":2,"a":"x"}']);
  });

  it("validates its options", () => {
    const client = new FakeBulkClient();
    expect(() => createBulkSink({ client, maxDocs: 0 })).toThrow(expect.objectContaining({ field: "maxDocs" }));
    expect(() => createBulkSink({ client, retry: { minDelayMs: 10, maxDelayMs: 5 } })).toThrow(
      expect.objectContaining({ field: "retry.maxDelayMs" }),
    );
    expect(() => createBulkSink({ client: undefined as unknown as BulkClient })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", field: "client" }),
    );
  });
});
