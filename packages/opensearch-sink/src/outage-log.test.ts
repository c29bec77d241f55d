import { describe, expect, it } from "@jest/globals";
import { createOutageLog } from "./outage-log.js";
import { FakeBulkClient, op, recordingLogger, requestError, setupSink, track } from "./testing/fake-bulk-client.js";
import { ManualClock } from "./testing/manual-clock.js";

describe("createOutageLog()", () => {
  it("warns when requests start failing, summarises at most every summaryEveryMs, and tells when it ends", async () => {
    const clock = new ManualClock();
    const { lines, logger } = recordingLogger();
    const outage = createOutageLog(clock, logger, 1_000);
    outage.requestSucceeded(); // no outage yet: nothing to say
    outage.requestFailed(requestError(503), 4, 120, 9);
    for (let i = 0; i < 5; i++) {
      await clock.advance(300);
      outage.requestFailed(requestError(503), 4, 120, 9);
    }
    await clock.advance(600);
    outage.requestSucceeded();
    expect(lines).toEqual([
      {
        level: "warn",
        message: "bulk requests failing; documents are kept and retried until OpenSearch accepts them",
        meta: { err: "x", code: "SERVER_ERROR", status: 503, batchSize: 4, delayMs: 120 },
      },
      {
        level: "warn",
        message: "OpenSearch unreachable for 1 s, 9 documents waiting, 5 retries",
        meta: { forMs: 1_200, retries: 4, documentsWaiting: 9, err: "x", code: "SERVER_ERROR" },
      },
      {
        level: "info",
        message: "bulk requests succeed again after 2 s",
        meta: { outageMs: 2_100, retries: 6 },
      },
    ]);
  });

  it("starts a new outage with a new warning after recovering", () => {
    const clock = new ManualClock();
    const { lines, logger } = recordingLogger();
    const outage = createOutageLog(clock, logger);
    outage.requestFailed(requestError(), 1, 10, 1);
    outage.requestSucceeded();
    outage.requestFailed(requestError(), 1, 10, 1);
    expect(lines.map((l) => l.level)).toEqual(["warn", "info", "warn"]);
    expect(lines[2]?.message).toBe(lines[0]?.message);
  });
});

describe.each([false, true])("BulkSink outage logging (encoded bodies: %s)", (encodedBodies) => {
  it("logs an outage once, then a summary at most every 10 s, then its end, not a line per failed request", async () => {
    let down = true;
    const client = new FakeBulkClient((ops) => (down ? requestError(503) : ops.map(() => ({ status: 201 }))), {
      encodedBodies,
    });
    const { lines, logger } = recordingLogger();
    const { sink, clock } = setupSink({ maxDocs: 1, retry: { minDelayMs: 100, maxDelayMs: 100 }, logger }, client);
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
});
