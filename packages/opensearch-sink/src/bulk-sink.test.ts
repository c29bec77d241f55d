// The sink's core: batching triggers, in-flight slots, whole-request retries, 413 splits, flush and close. The
// options, back-pressure, item outcomes, outage log and statistics have their own tests beside their modules.
import { describe, expect, it } from "@jest/globals";
import { createBulkSink } from "./bulk-sink.js";
import { SinkClosedError, SinkError } from "./errors.js";
import { FakeBulkClient, op, type Responder, requestError, setupSink, track } from "./testing/fake-bulk-client.js";
import type { BulkOperation, ItemOutcome } from "./types.js";

describe.each([false, true])("BulkSink (encoded bodies: %s)", (encodedBodies) => {
  const fake = (responder?: Responder) => new FakeBulkClient(responder, { encodedBodies });

  it("submit() reports each outcome to its callback, throws for invalid input and a closed sink", async () => {
    const { sink, client, clock } = setupSink({ maxDocs: 2, flushIntervalMs: 10_000 }, fake());
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

  it("submit() hands the very operation object back to the callback", async () => {
    const { sink, clock } = setupSink({ maxDocs: 1 }, fake());
    const mine = { ...op(0), offset: 42 };
    const seen: unknown[] = [];
    sink.submit(mine, (_result, back) => seen.push(back));
    await clock.advance(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(mine);
  });

  it("flushes when maxDocs operations are buffered, without waiting for the timer", async () => {
    const { sink, client, clock } = setupSink({ maxDocs: 3, flushIntervalMs: 10_000 }, fake());
    const outcomes = [0, 1, 2].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]?.map((o) => o.id)).toEqual(["id-0", "id-1", "id-2"]);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed", "indexed"]);
    expect(sink.stats()).toMatchObject({ indexed: 3, bulkRequests: 1, pending: 0, buffered: 0 });
  });

  it("flushes when maxBytes is reached and never puts more than maxBytes in one request", async () => {
    const doc = `{"pad":"${"x".repeat(100)}"}`;
    const { sink, client, clock } = setupSink({ maxDocs: 1000, maxBytes: 400, flushIntervalMs: 10_000 }, fake());
    for (let i = 0; i < 5; i++) void sink.add(op(i, { document: doc }));
    await clock.advance(0);
    // each op is ~150 bytes, so a batch holds 2 and the 5th waits for the timer
    expect(client.calls.map((c) => c.length)).toEqual([2, 2]);
    await clock.advance(10_000);
    expect(client.calls.map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it("bounds latency from the first buffered document, even under a steady trickle", async () => {
    const { sink, client, clock } = setupSink({ maxDocs: 100, flushIntervalMs: 500 }, fake());
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

  it("retries the whole batch after a request-level failure and reports degraded health meanwhile", async () => {
    const client = fake((ops, call) =>
      call < 3 ? requestError() : ops.map(() => ({ status: 201, result: "created" })),
    );
    const flushes: boolean[] = [];
    const { sink, clock } = setupSink(
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

  it("treats an answer with the wrong number of items as a retriable request failure", async () => {
    const client = fake((ops, call) => (call === 0 ? [] : ops.map(() => ({ status: 201 }))));
    const { sink, clock } = setupSink({ maxDocs: 1, retry: { minDelayMs: 10, maxDelayMs: 10 } }, client);
    const outcome = track(sink.add(op(0)));
    await clock.advance(10);
    expect(client.calls).toHaveLength(2);
    expect(outcome.outcome?.status).toBe("indexed");
    expect(sink.health().lastErrorCode).toBe("BAD_RESPONSE");
  });

  it("splits a batch refused with 413 until the parts fit, rejecting a single oversized document", async () => {
    const client = fake((ops) =>
      ops.length > 1 || ops[0]?.id === "id-3" ? requestError(413) : ops.map(() => ({ status: 201 })),
    );
    const { sink, clock } = setupSink({ maxDocs: 4 }, client);
    const outcomes = [0, 1, 2, 3].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed", "indexed", "rejected"]);
    expect(outcomes[3]?.outcome).toMatchObject({ httpStatus: 413 });
  });

  it("never has more than maxInFlight requests open", async () => {
    const client = fake();
    client.hold = true;
    const { sink, clock } = setupSink({ maxDocs: 1, maxInFlight: 2 }, client);
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

  it("flush() sends a partial batch immediately", async () => {
    const { sink, client, clock } = setupSink({ maxDocs: 100, flushIntervalMs: 10_000 }, fake());
    const outcome = track(sink.add(op(0)));
    await sink.flush();
    await clock.advance(0);
    expect(client.calls).toHaveLength(1);
    expect(outcome.outcome?.status).toBe("indexed");
  });

  it("drain() resolves once every add() settled", async () => {
    const { sink, clock } = setupSink({ maxDocs: 100, flushIntervalMs: 100 }, fake());
    await expect(sink.drain()).resolves.toBeUndefined();
    const outcome = track(sink.add(op(0)));
    let drained = false;
    void sink.drain().then(() => {
      drained = true;
    });
    await clock.advance(99);
    expect(drained).toBe(false);
    await clock.advance(1);
    expect(outcome.outcome?.status).toBe("indexed");
    expect(drained).toBe(true);
  });

  it("close() delivers buffered documents first, then refuses new ones", async () => {
    const { sink, client, clock } = setupSink({ maxDocs: 100, flushIntervalMs: 10_000 }, fake());
    const outcomes = [0, 1].map((i) => track(sink.add(op(i))));
    const closed = sink.close({ timeoutMs: 1000 });
    await clock.advance(0);
    await closed;
    expect(client.calls).toHaveLength(1);
    expect(outcomes.map((o) => o.outcome?.status)).toEqual(["indexed", "indexed"]);
    await expect(sink.add(op(9))).rejects.toBeInstanceOf(SinkClosedError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("close() gives up after timeoutMs: stops retrying and rejects what is left with SinkClosedError", async () => {
    const client = fake(() => requestError(503));
    const { sink, clock } = setupSink({ maxDocs: 1, retry: { minDelayMs: 100, maxDelayMs: 100 } }, client);
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

  it("close() during an outage rejects every pending item with a retriable error, never a final one", async () => {
    // What this protects: the consumer dead-letters and commits items whose error is not retriable. A shutdown while
    // OpenSearch is down must leave the pending documents uncommitted (redelivered after restart), not dead-lettered.
    const client = fake(() => requestError(503));
    const { sink, clock } = setupSink({ maxDocs: 2, retry: { minDelayMs: 100, maxDelayMs: 100 } }, client);
    const retrying = [0, 1].map((i) => track(sink.add(op(i))));
    await clock.advance(0);
    const buffered = track(sink.add(op(2)));
    const closed = sink.close({ timeoutMs: 300 });
    await clock.advance(300);
    await closed;
    for (const item of [...retrying, buffered]) {
      expect(item.outcome).toBeUndefined();
      expect(item.error).toMatchObject({ code: "SINK_CLOSED", retriable: true });
    }
  });

  it("close() aborts a request still in flight at the deadline", async () => {
    const client = fake();
    client.hold = true;
    const { sink, clock } = setupSink({ maxDocs: 1 }, client);
    const outcome = track(sink.add(op(0)));
    await clock.advance(0);
    const closed = sink.close({ timeoutMs: 500 });
    await clock.advance(500);
    await closed;
    expect(client.signals[0]?.aborted).toBe(true);
    expect(outcome.error).toBeInstanceOf(SinkClosedError);
  });

  it("rejects invalid operations with a field path and never sends them", async () => {
    const { sink, client, clock } = setupSink({}, fake());
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
    const { sink, client, clock } = setupSink({ maxDocs: 2 }, fake());
    const raw = '{"z":1,"a":12345678901234567890,"@timestamp":"2026-11-22T00:00:00Z"}';
    void sink.add(op(0, { document: raw }));
    void sink.add(op(1, { document: { b: 2, a: "x" } }));
    await clock.advance(0);
    expect(client.calls[0]?.map((o) => o.source)).toEqual([raw, '{"b":2,"a":"x"}']);
  });

  it("validates its options before anything else (see sink-options.test.ts for every field)", () => {
    expect(() => createBulkSink({ client: fake(), maxDocs: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", field: "maxDocs" }),
    );
  });
});
