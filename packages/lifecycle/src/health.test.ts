import { describe, expect, it } from "@jest/globals";
import { healthAnswer, isHealthPath } from "./health.js";

describe("healthAnswer", () => {
  it("answers /healthz alive whatever the readiness", () => {
    const answer = healthAnswer("/healthz", () => {
      throw new Error("readiness must not be asked for liveness");
    });
    expect(answer).toEqual({ status: 200, contentType: "application/json", body: '{"status":"ok"}' });
  });

  it("answers /readyz 200 ready or 503 not_ready, with the checks as given", () => {
    const ready = healthAnswer("/readyz", () => ({ ready: true, checks: { kafka: true } }));
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: "ready", checks: { kafka: true } });
    const notReady = healthAnswer("/readyz", () => ({ ready: false, checks: { opensearch: "degraded" } }));
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({ status: "not_ready", checks: { opensearch: "degraded" } });
  });

  it("knows its paths and nothing else", () => {
    expect(isHealthPath("/healthz")).toBe(true);
    expect(isHealthPath("/readyz")).toBe(true);
    expect(isHealthPath("/readyz/")).toBe(false);
    expect(isHealthPath("/metrics")).toBe(false);
  });
});
