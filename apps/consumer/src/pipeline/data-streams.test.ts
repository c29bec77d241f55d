import { describe, expect, it } from "@jest/globals";
import { noopLogger } from "@barito-flow/logger";
import { SinkError } from "@barito-flow/opensearch-sink";
import { createDataStreamGate } from "./data-streams.js";

describe("createDataStreamGate()", () => {
  it("checks a data stream's template once for concurrent documents and retries while OpenSearch is away", async () => {
    const calls: string[] = [];
    let failures = 1;
    const gate = createDataStreamGate({
      ensure: async (prefix) => {
        calls.push(prefix);
        if (failures-- > 0) throw new SinkError("CONNECTION_FAILED", "refused", { retriable: true });
      },
      logger: noopLogger,
      isStopping: () => false,
    });
    expect(gate.isReady("shop")).toBe(false);
    await Promise.all([gate.whenReady("shop"), gate.whenReady("shop")]);
    expect(calls).toEqual(["shop", "shop"]);
    expect(gate.isReady("shop")).toBe(true);
    expect(gate.isReady("other")).toBe(false);
  });

  it("rejects at once when the template is refused, and checks again for the next document", async () => {
    let calls = 0;
    const gate = createDataStreamGate({
      ensure: async () => {
        calls++;
        throw new SinkError("REQUEST_REJECTED", "invalid template", { retriable: false, status: 400 });
      },
      logger: noopLogger,
      isStopping: () => false,
    });
    await expect(gate.whenReady("shop")).rejects.toThrow("invalid template");
    await expect(gate.whenReady("shop")).rejects.toThrow("invalid template");
    expect(calls).toBe(2);
    expect(gate.isReady("shop")).toBe(false);
  });
});
