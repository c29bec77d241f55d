import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import { ProduceError, type ProduceErrorCode, retryAfterSeconds } from "./produce-error.js";

describe("ProduceError", () => {
  it("answers each code with one HTTP status and one Connect code, on every protocol alike", () => {
    // Written out, not derived: this is the table clients see (README, "Errors").
    const expected: Array<[ProduceErrorCode, number, Code]> = [
      ["INVALID_ARGUMENT", 400, Code.InvalidArgument],
      ["PAYLOAD_TOO_LARGE", 413, Code.InvalidArgument],
      ["RATE_LIMITED", 429, Code.ResourceExhausted],
      ["KAFKA_UNAVAILABLE", 503, Code.Unavailable],
      ["NOT_ENOUGH_REPLICAS", 503, Code.Unavailable],
      ["PARTIALLY_WRITTEN", 503, Code.Unavailable],
      ["SHUTTING_DOWN", 503, Code.Unavailable],
      ["OVERLOADED", 503, Code.Unavailable],
      ["INTERNAL", 500, Code.Internal],
    ];
    for (const [code, httpStatus, connectCode] of expected) {
      const error = new ProduceError(code, "m");
      expect({ code, httpStatus: error.httpStatus, connectCode: error.connectCode }).toEqual({
        code,
        httpStatus,
        connectCode,
      });
    }
  });

  it("is retriable exactly when it says when to retry, and keeps its message, details and cause", () => {
    const cause = new Error("broker down");
    const later = new ProduceError("KAFKA_UNAVAILABLE", "Kafka is unavailable", { retryAfterMs: 5_000, cause });
    expect(later).toMatchObject({
      name: "ProduceError",
      message: "Kafka is unavailable",
      retriable: true,
      retryAfterMs: 5_000,
      details: [],
    });
    expect(later.cause).toBe(cause);
    expect(later).toBeInstanceOf(Error);
    const never = new ProduceError("INTERNAL", "bug", { details: [{ field: "f", reason: "r" }] });
    expect(never.retriable).toBe(false);
    expect(never.retryAfterMs).toBeUndefined();
    expect(never.details).toEqual([{ field: "f", reason: "r" }]);
    // 0 ms is still "retry", at once.
    expect(new ProduceError("OVERLOADED", "busy", { retryAfterMs: 0 }).retriable).toBe(true);
  });

  it("invalid(): INVALID_ARGUMENT summarising the first violation and how many more", () => {
    const one = ProduceError.invalid([{ field: "context.kafka_topic", reason: "must match ^[a-z]+$" }]);
    expect(one).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "context.kafka_topic: must match ^[a-z]+$",
      details: [{ field: "context.kafka_topic", reason: "must match ^[a-z]+$" }],
      retriable: false,
    });
    const three = ProduceError.invalid([
      { field: "a", reason: "x" },
      { field: "b", reason: "y" },
      { field: "c", reason: "z" },
    ]);
    expect(three.message).toBe("a: x (and 2 more)");
    expect(three.details).toHaveLength(3);
    expect(
      ProduceError.invalid([
        { field: "a", reason: "x" },
        { field: "b", reason: "y" },
      ]).message,
    ).toBe("a: x (and 1 more)");
    expect(ProduceError.invalid([]).message).toBe("invalid request");
  });
});

describe("retryAfterSeconds()", () => {
  it("rounds up to whole seconds, at least 1", () => {
    expect([0, 1, 999, 1_000, 1_001, 5_000, 5_500].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 5, 6]);
  });
});
