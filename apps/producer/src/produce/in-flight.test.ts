import { describe, expect, it } from "@jest/globals";
import { createInFlightBudget } from "./in-flight.js";

describe("createInFlightBudget()", () => {
  it("grows reservations up to the cap and refuses beyond it with OVERLOADED, changing nothing", () => {
    const budget = createInFlightBudget({ maxBytes: 1_000, maxRecords: 10 });
    const a = budget.open();
    const b = budget.open();
    a.reserve(600, 4);
    a.reserve(500); // never shrinks by reserving
    expect(a.bytes).toBe(600);
    expect(() => b.reserve(401)).toThrow(expect.objectContaining({ code: "OVERLOADED", httpStatus: 503 }));
    expect(() => b.reserve(100, 7)).toThrow(expect.objectContaining({ code: "OVERLOADED", retryAfterMs: 1_000 }));
    expect(budget.usage()).toEqual({ bytes: 600, records: 4 });
    b.reserve(400, 6);
    expect(b.available()).toBe(0);
    a.release();
    a.release(); // idempotent
    expect(budget.usage()).toEqual({ bytes: 400, records: 6 });
  });

  it("refuses a request larger than the whole cap as PAYLOAD_TOO_LARGE (it could never fit)", () => {
    const budget = createInFlightBudget({ maxBytes: 1_000, maxRecords: 10 });
    const r = budget.open();
    expect(() => r.reserve(1_001)).toThrow(expect.objectContaining({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 }));
    expect(() => r.reserve(10, 11)).toThrow(expect.objectContaining({ code: "PAYLOAD_TOO_LARGE" }));
    expect(budget.usage()).toEqual({ bytes: 0, records: 0 });
  });

  it("frees a reservation only when its opener and every holder released it", () => {
    const budget = createInFlightBudget({ maxBytes: 1_000, maxRecords: 10 });
    const r = budget.open();
    r.reserve(300, 2);
    const done = r.hold();
    r.release(); // the client went away; the produce call still holds its records in librdkafka
    expect(budget.usage()).toEqual({ bytes: 300, records: 2 });
    done();
    done();
    expect(budget.usage()).toEqual({ bytes: 0, records: 0 });
    expect(() => r.reserve(1)).toThrow("reservation already released");
  });

  it("shrinks when the request's data got smaller", () => {
    const budget = createInFlightBudget({ maxBytes: 1_000, maxRecords: 10 });
    const r = budget.open();
    r.reserve(800);
    r.shrinkTo(200);
    expect(budget.usage().bytes).toBe(200);
    r.shrinkTo(500); // not a way to grow
    expect(r.bytes).toBe(200);
  });
});
