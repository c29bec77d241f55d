import { describe, expect, it } from "@jest/globals";
import { resolveSinkOptions, systemClock } from "./sink-options.js";
import { FakeBulkClient } from "./testing/fake-bulk-client.js";
import type { BulkClient } from "./types.js";

describe("resolveSinkOptions()", () => {
  const client = new FakeBulkClient();

  it("fills in the documented defaults", () => {
    expect(resolveSinkOptions({ client })).toMatchObject({
      client,
      maxDocs: 100,
      maxBytes: 5 * 1024 * 1024,
      flushIntervalMs: 500,
      maxInFlight: 2,
      maxBufferedDocs: 5_000,
      resumeBelowDocs: 2_500,
      minDelayMs: 200,
      maxDelayMs: 15_000,
      degradedAfterFailures: 3,
      clock: systemClock,
      random: Math.random,
    });
  });

  it("keeps the values it is given", () => {
    const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
    const random = () => 0.5;
    expect(
      resolveSinkOptions({
        client,
        maxDocs: 7,
        maxBufferedDocs: 10,
        resumeBelowDocs: 0,
        retry: { minDelayMs: 5, maxDelayMs: 5 },
        clock,
        random,
      }),
    ).toMatchObject({
      maxDocs: 7,
      maxBufferedDocs: 10,
      resumeBelowDocs: 0,
      minDelayMs: 5,
      maxDelayMs: 5,
      clock,
      random,
    });
  });

  it("rejects bad values with INVALID_CONFIG and the field", () => {
    const cases: Array<[Parameters<typeof resolveSinkOptions>[0], string]> = [
      [{ client: undefined as unknown as BulkClient }, "client"],
      [{ client: {} as BulkClient }, "client"],
      [{ client, maxDocs: 0 }, "maxDocs"],
      [{ client, maxBytes: 1.5 }, "maxBytes"],
      [{ client, flushIntervalMs: -1 }, "flushIntervalMs"],
      [{ client, maxInFlight: Number.NaN }, "maxInFlight"],
      [{ client, maxBufferedDocs: 0 }, "maxBufferedDocs"],
      [{ client, maxBufferedDocs: 10, resumeBelowDocs: 10 }, "resumeBelowDocs"],
      [{ client, resumeBelowDocs: -1 }, "resumeBelowDocs"],
      [{ client, retry: { minDelayMs: 0 } }, "retry.minDelayMs"],
      [{ client, retry: { minDelayMs: 10, maxDelayMs: 5 } }, "retry.maxDelayMs"],
      [{ client, degradedAfterFailures: 0 }, "degradedAfterFailures"],
      // several bad values: the first in the documented order is reported
      [{ client, maxDocs: 0, degradedAfterFailures: 0 }, "maxDocs"],
    ];
    for (const [options, field] of cases) {
      expect(() => resolveSinkOptions(options)).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG", field, retriable: false }),
      );
    }
  });
});
