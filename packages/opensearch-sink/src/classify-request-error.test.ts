import { describe, expect, it } from "@jest/globals";
import { errors } from "@opensearch-project/opensearch";
import { classifyRequestError } from "./classify-request-error.js";
import { isSinkError, SinkClosedError, SinkError } from "./errors.js";

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

  it("draws the line between rejected and server errors at 500", () => {
    expect(classifyRequestError(responseError(499, {}), "x")).toMatchObject({
      code: "REQUEST_REJECTED",
      retriable: false,
    });
    expect(classifyRequestError(responseError(500, {}), "x")).toMatchObject({ code: "SERVER_ERROR", retriable: true });
    expect(classifyRequestError(responseError(404, {}), "x")).toMatchObject({
      code: "REQUEST_REJECTED",
      retriable: false,
    });
  });

  it("takes the detail from the body's reason, else its type, else the client's message", () => {
    const detail = (body: unknown) => classifyRequestError(responseError(400, body), "op").message;
    expect(detail({ error: { type: "t", reason: "r" } })).toBe("op failed with HTTP 400: r");
    expect(detail({ error: { type: "only_type" } })).toBe("op failed with HTTP 400: only_type");
    expect(detail({ error: "plain text error" })).toBe("op failed with HTTP 400: plain text error");
    const fallback = classifyRequestError(responseError(400, "not an object"), "op");
    expect(fallback.message).toMatch(/^op failed with HTTP 400: ./);
    expect(fallback.message).not.toContain("undefined");
    expect(fallback.errorType).toBeUndefined();
    expect(classifyRequestError(responseError(400, { error: { type: 7, reason: 8 } }), "op").errorType).toBeUndefined();
    expect(classifyRequestError(responseError(400, { error: null }), "op").errorType).toBeUndefined();
    expect(classifyRequestError(responseError(400, null), "op").errorType).toBeUndefined();
    expect(classifyRequestError(responseError(502, undefined), "op")).toMatchObject({ code: "SERVER_ERROR" });
  });

  it("maps an abort, an unreadable body and unknown failures, each with its own message", () => {
    const aborted = classifyRequestError(new errors.RequestAbortedError("aborted", {} as never), "bulk");
    expect(aborted).toMatchObject({ code: "ABORTED", retriable: true, message: "bulk was aborted" });
    const domAbort = Object.assign(new Error("The operation was aborted"), { name: "AbortError" });
    expect(classifyRequestError(domAbort, "bulk")).toMatchObject({ code: "ABORTED", retriable: true });
    const unreadable = classifyRequestError(new errors.DeserializationError("bad", "{"), "bulk");
    expect(unreadable).toMatchObject({
      code: "BAD_RESPONSE",
      retriable: true,
      message: "bulk: unreadable response body",
    });
    expect(classifyRequestError(new errors.TimeoutError("t", {} as never), "bulk").message).toBe("bulk timed out");
    expect(classifyRequestError(new errors.ConnectionError("ECONNREFUSED"), "bulk").message).toBe(
      "bulk: cannot reach OpenSearch (ECONNREFUSED)",
    );
    const unknown = classifyRequestError("socket closed", "bulk");
    expect(unknown).toMatchObject({
      code: "CONNECTION_FAILED",
      retriable: true,
      message: "bulk failed: socket closed",
    });
    expect((unknown.cause as Error).name).toBe("Error");
  });

  it("keeps a sanitised copy of a ResponseError as the cause of the HTTP error", () => {
    const original = responseError(503, { error: { type: "t", reason: "r" } });
    const error = classifyRequestError(original, "x");
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).not.toBe(original);
    expect((error.cause as Error).name).toBe("ResponseError");
  });

  it("keeps a copy of the original as cause, with its name and message, never the original itself", () => {
    const original = new errors.ConnectionError("connect ECONNREFUSED");
    const error = classifyRequestError(original, "x");
    expect(error.cause).not.toBe(original);
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe(original.name);
    expect((error.cause as Error).message).toBe("connect ECONNREFUSED");
    expect(Object.keys(error.cause as object)).not.toContain("meta");
  });

  it("passes SinkErrors through unchanged", () => {
    const original = new SinkError("BAD_RESPONSE", "x", { retriable: true });
    expect(classifyRequestError(original, "x")).toBe(original);
  });
});

describe("SinkError and SinkClosedError", () => {
  it("carry their name, code, retriability and a JSON form without the cause", () => {
    const error = new SinkError("SERVER_ERROR", "bulk failed", {
      retriable: true,
      status: 503,
      errorType: "unavailable",
      field: "index",
      cause: new Error("http://u:secret@host"),
    });
    expect(error.name).toBe("SinkError");
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "SinkError",
      code: "SERVER_ERROR",
      retriable: true,
      status: 503,
      errorType: "unavailable",
      field: "index",
      message: "bulk failed",
    });
    expect("cause" in new SinkError("TIMEOUT", "t", { retriable: true })).toBe(false);
  });

  it("closed: retriable, with its own name and default message", () => {
    const closed = new SinkClosedError();
    expect(closed).toMatchObject({
      name: "SinkClosedError",
      code: "SINK_CLOSED",
      retriable: true,
      message: "bulk sink is closed; the operation was not delivered",
    });
    expect(closed).toBeInstanceOf(SinkError);
    expect(new SinkClosedError("custom").message).toBe("custom");
  });

  it("are recognised by brand and code, not by prototype", () => {
    const foreign = Object.defineProperty(
      Object.assign(new Error("x"), { code: "SINK_CLOSED" }),
      Symbol.for("@barito-flow/opensearch-sink/error"),
      {
        value: true,
      },
    );
    expect(isSinkError(foreign)).toBe(true);
    expect(foreign instanceof SinkClosedError).toBe(true);
    expect(new SinkError("TIMEOUT", "t", { retriable: true }) instanceof SinkClosedError).toBe(false);
    expect({ code: "SINK_CLOSED" } instanceof SinkClosedError).toBe(false);
    for (const value of [null, undefined, "SinkError", 42, { code: "TIMEOUT", retriable: true }]) {
      expect(isSinkError(value)).toBe(false);
    }
  });
});
