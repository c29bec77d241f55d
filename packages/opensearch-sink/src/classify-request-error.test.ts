import { describe, expect, it } from "@jest/globals";
import { errors } from "@opensearch-project/opensearch";
import { classifyRequestError } from "./classify-request-error.js";
import { SinkError } from "./errors.js";

function responseError(statusCode: number, body: unknown) {
  return new errors.ResponseError({
    body,
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

describe("classifyRequestError()", () => {
  it.each([
    [429, "TOO_MANY_REQUESTS", true],
    [503, "SERVER_ERROR", true],
    [502, "SERVER_ERROR", true],
    [408, "TIMEOUT", true],
    [401, "AUTH_FAILED", true],
    [403, "AUTH_FAILED", true],
    [400, "REQUEST_REJECTED", false],
    [413, "REQUEST_REJECTED", false],
  ])("maps HTTP %i on the whole request to %s (retriable %s)", (status, code, retriable) => {
    const error = classifyRequestError(
      responseError(status, { error: { type: "some_exception", reason: "why" }, status }),
      "bulk request",
    );
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ code, retriable, status, errorType: "some_exception" });
    expect(error.message).toBe(`bulk request failed with HTTP ${status}: why`);
  });

  it("maps transport errors to retriable codes", () => {
    expect(classifyRequestError(new errors.ConnectionError("connect ECONNREFUSED"), "x")).toMatchObject({
      code: "CONNECTION_FAILED",
      retriable: true,
    });
    expect(classifyRequestError(new errors.TimeoutError("Request timed out", {} as never), "x")).toMatchObject({
      code: "TIMEOUT",
      retriable: true,
    });
    expect(classifyRequestError(new errors.NoLivingConnectionsError("none", {} as never), "x")).toMatchObject({
      code: "CONNECTION_FAILED",
    });
  });

  it("never carries credentials in the message or cause", () => {
    const error = classifyRequestError(new Error("socket hang up http://admin:hunter2@es:9200/_bulk"), "bulk");
    expect(error.message).not.toContain("hunter2");
    expect((error.cause as Error).message).not.toContain("hunter2");
    expect(error.message).toContain("http://admin:[REDACTED]@es:9200");
  });

  it("passes SinkErrors through unchanged", () => {
    const original = new SinkError("BAD_RESPONSE", "x", { retriable: true });
    expect(classifyRequestError(original, "x")).toBe(original);
  });
});
