import { describe, expect, it } from "@jest/globals";
import { BatchBuffer } from "./batch-buffer.js";
import { type PendingOperation, pendingOperation } from "./bulk-operation.js";
import { op } from "./testing/fake-bulk-client.js";

const pending = (i: number, dueAt = 1_000, document = `{"n":${i}}`): PendingOperation =>
  pendingOperation(op(i, { document }), dueAt, () => {});

const ids = (ops: PendingOperation[]) => ops.map((o) => o.id);

describe("BatchBuffer", () => {
  it("is ready at maxDocs operations, and cuts batches of at most maxDocs", () => {
    const buffer = new BatchBuffer(2, 1_000_000);
    buffer.push(pending(0));
    expect(buffer.isReady(0, false)).toBe(false);
    buffer.push(pending(1));
    buffer.push(pending(2));
    expect(buffer.isReady(0, false)).toBe(true);
    expect(ids(buffer.cut())).toEqual(["id-0", "id-1"]);
    expect(buffer.length).toBe(1);
    expect(buffer.isReady(0, false)).toBe(false);
  });

  it("is ready at maxBytes and never cuts more than maxBytes, except a single larger operation", () => {
    const small = pending(0);
    const buffer = new BatchBuffer(100, small.bytes * 2);
    buffer.push(small);
    expect(buffer.isReady(0, false)).toBe(false);
    buffer.push(pending(1));
    buffer.push(pending(2, 1_000, `{"pad":"${"x".repeat(200)}"}`));
    expect(buffer.isReady(0, false)).toBe(true);
    expect(ids(buffer.cut())).toEqual(["id-0", "id-1"]);
    expect(ids(buffer.cut())).toEqual(["id-2"]);
    expect(buffer.cut()).toEqual([]);
  });

  it("is ready when the oldest operation is due, or when closing", () => {
    const buffer = new BatchBuffer(100, 1_000_000);
    expect(buffer.isReady(5_000, true)).toBe(false); // nothing to send
    buffer.push(pending(0, 500));
    buffer.push(pending(1, 900));
    expect(buffer.head()?.id).toBe("id-0");
    expect(buffer.isReady(499, false)).toBe(false);
    expect(buffer.isReady(500, false)).toBe(true);
    expect(buffer.isReady(0, true)).toBe(true);
  });

  it("forceAll() makes what is buffered now leave, and ends once it has been cut", () => {
    const buffer = new BatchBuffer(2, 1_000_000);
    for (let i = 0; i < 3; i++) buffer.push(pending(i));
    buffer.forceAll();
    buffer.push(pending(3));
    expect(buffer.hasForced()).toBe(true);
    buffer.cut();
    expect(buffer.isReady(0, false)).toBe(true);
    buffer.cut();
    expect(buffer.hasForced()).toBe(false);
    expect(buffer.length).toBe(0);
  });

  it("requeue() puts retried operations first, due now, and keeps them forced while a flush is under way", () => {
    const buffer = new BatchBuffer(2, 1_000_000);
    buffer.push(pending(0));
    buffer.forceAll();
    const retried = [pending(8, 50), pending(9, 50)];
    buffer.requeue(retried, 2_000);
    expect(ids(buffer.cut())).toEqual(["id-8", "id-9"]);
    expect(retried.map((o) => o.dueAt)).toEqual([2_000, 2_000]);
    // id-0 was asked for by the flush and is still waiting: the flush is not over
    expect(buffer.hasForced()).toBe(true);
    expect(ids(buffer.cut())).toEqual(["id-0"]);
    expect(buffer.hasForced()).toBe(false);
  });

  it("clear() empties it, bytes and forced operations included", () => {
    const buffer = new BatchBuffer(1, 1);
    buffer.push(pending(0));
    buffer.forceAll();
    buffer.clear();
    expect(buffer.length).toBe(0);
    expect(buffer.hasForced()).toBe(false);
    buffer.push(pending(1, 10_000));
    // a fresh byte count: one operation is over maxBytes (1), but that is the count trigger at maxDocs 1
    expect(buffer.isReady(0, false)).toBe(true);
  });
});
