import { describe, expect, it } from "@jest/globals";
import { createBackpressure } from "./backpressure.js";
import { FakeBulkClient, op, recordingLogger, setupSink } from "./testing/fake-bulk-client.js";
import { settle } from "./testing/manual-clock.js";

describe("createBackpressure()", () => {
  it("saturates at maxBufferedDocs and frees at resumeBelowDocs, not in between (hysteresis)", () => {
    const backpressure = createBackpressure({ maxBufferedDocs: 6, resumeBelowDocs: 2 });
    let drains = 0;
    backpressure.onDrain(() => drains++);
    backpressure.update(5);
    expect(backpressure.isSaturated()).toBe(false);
    backpressure.update(6);
    expect(backpressure.isSaturated()).toBe(true);
    backpressure.update(3);
    expect(backpressure.isSaturated()).toBe(true);
    expect(drains).toBe(0);
    backpressure.update(2);
    expect(backpressure.isSaturated()).toBe(false);
    expect(drains).toBe(1);
    backpressure.update(1);
    expect(drains).toBe(1);
  });

  it("wakes capacity waiters when saturation ends, and at once when not saturated", async () => {
    const backpressure = createBackpressure({ maxBufferedDocs: 2, resumeBelowDocs: 0 });
    await expect(backpressure.waitForCapacity()).resolves.toBeUndefined();
    backpressure.update(2);
    let woken = false;
    void backpressure.waitForCapacity().then(() => {
      woken = true;
    });
    backpressure.update(1);
    await settle();
    expect(woken).toBe(false);
    backpressure.update(0);
    await settle();
    expect(woken).toBe(true);
  });

  it("lets every waiter through once closed", async () => {
    const backpressure = createBackpressure({ maxBufferedDocs: 1, resumeBelowDocs: 0 });
    backpressure.update(1);
    let woken = false;
    void backpressure.waitForCapacity().then(() => {
      woken = true;
    });
    backpressure.close();
    await settle();
    expect(woken).toBe(true);
    expect(backpressure.isSaturated()).toBe(true);
    await expect(backpressure.waitForCapacity()).resolves.toBeUndefined();
  });

  it("unsubscribes drain listeners, and logs one that throws without skipping the others", () => {
    const { lines, logger } = recordingLogger();
    const backpressure = createBackpressure({ maxBufferedDocs: 1, resumeBelowDocs: 0, logger });
    const calls: string[] = [];
    backpressure.onDrain(() => {
      throw new Error("boom");
    });
    const unsubscribe = backpressure.onDrain(() => calls.push("gone"));
    backpressure.onDrain(() => calls.push("kept"));
    unsubscribe();
    backpressure.update(1);
    backpressure.update(0);
    expect(calls).toEqual(["kept"]);
    expect(lines.filter((l) => l.level === "error").map((l) => l.message)).toEqual([
      "bulk sink onDrain listener threw",
    ]);
  });
});

describe.each([false, true])("BulkSink back-pressure (encoded bodies: %s)", (encodedBodies) => {
  it("signals saturation at maxBufferedDocs and drains below resumeBelowDocs", async () => {
    const client = new FakeBulkClient(undefined, { encodedBodies });
    client.hold = true;
    const { sink, clock } = setupSink({ maxDocs: 2, maxInFlight: 1, maxBufferedDocs: 6, resumeBelowDocs: 2 }, client);
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

  it("lets capacity waiters through when the sink closes while saturated", async () => {
    const client = new FakeBulkClient(undefined, { encodedBodies });
    client.hold = true;
    const { sink, clock } = setupSink({ maxDocs: 1, maxInFlight: 1, maxBufferedDocs: 2, resumeBelowDocs: 0 }, client);
    void sink.add(op(0)).catch(() => {});
    void sink.add(op(1)).catch(() => {});
    expect(sink.isSaturated()).toBe(true);
    let capacity = false;
    void sink.waitForCapacity().then(() => {
      capacity = true;
    });
    const closed = sink.close({ timeoutMs: 100 });
    await clock.advance(100);
    await closed;
    expect(capacity).toBe(true);
    await expect(sink.waitForCapacity()).resolves.toBeUndefined();
  });
});
