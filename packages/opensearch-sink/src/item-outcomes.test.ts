import { describe, expect, it } from "@jest/globals";
import { type PendingOperation, pendingOperation } from "./bulk-operation.js";
import { SinkError } from "./errors.js";
import {
  isRetriableItemStatus,
  itemOutcome,
  requestFailureAction,
  requestRejectedOutcome,
  settleItems,
} from "./item-outcomes.js";
import { flushStats } from "./sink-stats.js";
import { FakeBulkClient, op, type Responder, requestError, setupSink, track } from "./testing/fake-bulk-client.js";
import type { ItemOutcome } from "./types.js";

describe("itemOutcome()", () => {
  it("accepts 2xx as indexed, with the result when the server sent one", () => {
    expect(itemOutcome("index", { status: 201 })).toEqual({ status: "indexed", httpStatus: 201 });
    expect(itemOutcome("index", { status: 200, result: "updated" })).toEqual({
      status: "indexed",
      httpStatus: 200,
      result: "updated",
    });
    // shared and frozen: callers read outcomes, never change them
    expect(itemOutcome("create", { status: 201 })).toBe(itemOutcome("index", { status: 201 }));
    expect(Object.isFrozen(itemOutcome("index", { status: 201 }))).toBe(true);
  });

  it("reports 409 as a duplicate only for create (an idempotent replay), and rejects it for index", () => {
    const conflict = { status: 409, error: { type: "version_conflict_engine_exception", reason: "exists" } };
    expect(itemOutcome("create", conflict)).toEqual({ status: "duplicate", httpStatus: 409 });
    expect(itemOutcome("index", conflict)).toEqual({
      status: "rejected",
      httpStatus: 409,
      errorType: "version_conflict_engine_exception",
      reason: "exists",
    });
  });

  it("leaves 408, 429 and 5xx to a retry", () => {
    for (const status of [408, 429, 500, 503]) {
      expect(isRetriableItemStatus(status)).toBe(true);
      expect(itemOutcome("index", { status, error: { type: "x" } })).toBeUndefined();
    }
    for (const status of [200, 400, 404, 409]) expect(isRetriableItemStatus(status)).toBe(false);
  });

  it("rejects other statuses with the error type and 'reason; caused by: cause'", () => {
    expect(
      itemOutcome("index", {
        status: 400,
        error: {
          type: "mapper_parsing_exception",
          reason: "failed to parse field [n] of type [long]",
          caused_by: { type: "illegal_argument_exception", reason: 'For input string: "abc"' },
        },
      }),
    ).toEqual({
      status: "rejected",
      httpStatus: 400,
      errorType: "mapper_parsing_exception",
      reason: 'failed to parse field [n] of type [long]; caused by: For input string: "abc"',
    });
    expect(itemOutcome("index", { status: 404 })).toEqual({
      status: "rejected",
      httpStatus: 404,
      errorType: "unknown",
      reason: "HTTP 404 without an error body",
    });
  });
});

describe("itemOutcome() at the edges of each class", () => {
  it("takes 200..299 as indexed and the statuses around them as rejected", () => {
    expect(itemOutcome("index", { status: 200 })).toEqual({ status: "indexed", httpStatus: 200 });
    expect(itemOutcome("index", { status: 299 })).toEqual({ status: "indexed", httpStatus: 299 });
    for (const status of [199, 300, 499]) {
      expect(itemOutcome("index", { status, error: { type: "x", reason: "r" } })).toMatchObject({
        status: "rejected",
        httpStatus: status,
      });
      expect(isRetriableItemStatus(status)).toBe(false);
    }
    expect(isRetriableItemStatus(500)).toBe(true);
    expect(isRetriableItemStatus(599)).toBe(true);
  });

  it("keeps the result of a 2xx apart by status and result, and drops an empty one", () => {
    expect(itemOutcome("index", { status: 201, result: "created" })).toEqual({
      status: "indexed",
      httpStatus: 201,
      result: "created",
    });
    expect(itemOutcome("index", { status: 200, result: "created" })).toEqual({
      status: "indexed",
      httpStatus: 200,
      result: "created",
    });
    expect(itemOutcome("index", { status: 201, result: "" })).toEqual({ status: "indexed", httpStatus: 201 });
    expect(itemOutcome("index", { status: 201, result: "updated" })).toEqual({
      status: "indexed",
      httpStatus: 201,
      result: "updated",
    });
    // No `result: undefined` key either (toEqual would not see it).
    expect(Object.keys(itemOutcome("index", { status: 202 }) as object)).toEqual(["status", "httpStatus"]);
  });

  it("gives a rejection without caused_by its reason alone, and an untyped error the type 'unknown'", () => {
    expect(itemOutcome("index", { status: 400, error: { type: "t", reason: "only reason" } })).toEqual({
      status: "rejected",
      httpStatus: 400,
      errorType: "t",
      reason: "only reason",
    });
    expect(itemOutcome("index", { status: 400, error: { reason: "r" } as never })).toEqual({
      status: "rejected",
      httpStatus: 400,
      errorType: "unknown",
      reason: "r",
    });
    expect(
      itemOutcome("index", { status: 400, error: { type: "t", caused_by: { type: "c", reason: "deep" } } }),
    ).toEqual({ status: "rejected", httpStatus: 400, errorType: "t", reason: "caused by: deep" });
  });
});

describe("requestFailureAction() and requestRejectedOutcome()", () => {
  it("retries what may pass, splits a 413 of several documents, rejects the rest", () => {
    expect(requestFailureAction(requestError(), 5)).toBe("retry");
    expect(requestFailureAction(requestError(503), 5)).toBe("retry");
    expect(requestFailureAction(requestError(413), 2)).toBe("split");
    expect(requestFailureAction(requestError(413), 1)).toBe("reject");
    expect(requestFailureAction(requestError(400), 5)).toBe("reject");
    // A retriable error is retried whatever its status; only a final 413 splits.
    const retriable413 = new SinkError("SERVER_ERROR", "x", { retriable: true, status: 413 });
    expect(requestFailureAction(retriable413, 5)).toBe("retry");
  });

  it("gives each refused document the request's status, error type (or code) and message", () => {
    const typed = new SinkError("REQUEST_REJECTED", "bulk request failed with HTTP 400: bad", {
      retriable: false,
      status: 400,
      errorType: "parse_exception",
    });
    expect(requestRejectedOutcome(typed)).toEqual({
      status: "rejected",
      httpStatus: 400,
      errorType: "parse_exception",
      reason: "bulk request failed with HTTP 400: bad",
    });
    expect(requestRejectedOutcome(new SinkError("BAD_RESPONSE", "odd", { retriable: false }))).toEqual({
      status: "rejected",
      httpStatus: 0,
      errorType: "BAD_RESPONSE",
      reason: "odd",
    });
  });
});

describe("settleItems()", () => {
  const pendingOf = (n: number): PendingOperation[] =>
    Array.from({ length: n }, (_, i) => pendingOperation(op(i, { action: i === 2 ? "create" : "index" }), 0, () => {}));

  it("settles final outcomes, counts them, and returns the rest for a retry with raised attempts", () => {
    const live = pendingOf(5);
    const live3 = live[3] as PendingOperation;
    live3.attempts = 2;
    const settled: Array<[string, ItemOutcome]> = [];
    const flushed = flushStats(5, 100, 1, true);
    const retries = settleItems(
      live,
      [{ status: 201 }, { status: 429 }, { status: 409 }, { status: 503 }, { status: 400, error: { type: "x" } }],
      flushed,
      (o, outcome) => settled.push([o.id, outcome]),
      undefined,
    );
    expect(settled.map(([id, outcome]) => [id, outcome.status])).toEqual([
      ["id-0", "indexed"],
      ["id-2", "duplicate"],
      ["id-4", "rejected"],
    ]);
    expect(flushed).toMatchObject({ indexed: 1, duplicates: 1, rejected: 1, retried: 2 });
    expect(retries?.ops.map((o) => o.id)).toEqual(["id-1", "id-3"]);
    expect(retries?.statuses).toEqual([429, 503]);
    expect(retries?.attempt).toBe(3);
    expect(live[1]?.attempts).toBe(1);
  });

  it("lists each retry status once and logs each rejected item", () => {
    const live = pendingOf(4);
    const logged: unknown[] = [];
    const logger = { debug: (message: string, fields: unknown) => logged.push([message, fields]) };
    const flushed = flushStats(4, 100, 1, true);
    const retries = settleItems(
      live,
      [{ status: 429 }, { status: 429 }, { status: 404 }, { status: 503 }],
      flushed,
      () => {},
      logger as never,
    );
    expect(retries?.statuses).toEqual([429, 503]);
    expect(retries?.attempt).toBe(1);
    expect(flushed).toMatchObject({ indexed: 0, duplicates: 0, rejected: 1, retried: 3 });
    expect(logged).toEqual([
      ["bulk item rejected", { index: live[2]?.index, id: "id-2", status: 404, errorType: "unknown" }],
    ]);
  });

  it("rejects an item with a logger that has no debug method", () => {
    const flushed = flushStats(1, 10, 1, true);
    const settled: string[] = [];
    settleItems(pendingOf(1), [{ status: 400 }], flushed, (_op, outcome) => settled.push(outcome.status), {} as never);
    expect(settled).toEqual(["rejected"]);
  });

  it("returns undefined when nothing is to be retried", () => {
    const flushed = flushStats(1, 10, 1, true);
    expect(settleItems(pendingOf(1), [{ status: 201 }], flushed, () => {}, undefined)).toBeUndefined();
    expect(flushed.retried).toBe(0);
  });
});

describe.each([false, true])("BulkSink item outcomes (encoded bodies: %s)", (encodedBodies) => {
  const fake = (responder?: Responder) => new FakeBulkClient(responder, { encodedBodies });

  it("retries only the items that failed with 429, with backoff, until they succeed", async () => {
    const client = fake((ops, call) =>
      ops.map((o) =>
        o.id === "id-1" && call < 3
          ? { status: 429, error: { type: "es_rejected_execution_exception", reason: "queue full" } }
          : { status: 201, result: "created" },
      ),
    );
    const { sink, clock } = setupSink({ maxDocs: 3, retry: { minDelayMs: 100, maxDelayMs: 1000 } }, client);
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
    const client = fake((ops) =>
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
    const { sink, clock } = setupSink({ maxDocs: 2 }, client);
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
    const client = fake((ops) =>
      ops.map(() => ({ status: 409, error: { type: "version_conflict_engine_exception", reason: "exists" } })),
    );
    const { sink, clock } = setupSink({ maxDocs: 1 }, client);
    const created = track(sink.add(op(0, { action: "create" })));
    await clock.advance(0);
    expect(created.outcome).toEqual({ status: "duplicate", httpStatus: 409 });
    expect(sink.stats().duplicates).toBe(1);
  });

  it("rejects every document of a request refused with a non-retriable 4xx, without retrying", async () => {
    const client = fake(() => requestError(400));
    const { sink, clock } = setupSink({ maxDocs: 2 }, client);
    const outcomes = [0, 1].map((i) => track(sink.add(op(i))));
    await clock.advance(60_000);
    expect(client.calls).toHaveLength(1);
    expect(outcomes[0]?.outcome).toMatchObject({ status: "rejected", httpStatus: 400, errorType: "REQUEST_REJECTED" });
    expect(outcomes[1]?.outcome?.status).toBe("rejected");
    expect(sink.stats().rejected).toBe(2);
  });
});
