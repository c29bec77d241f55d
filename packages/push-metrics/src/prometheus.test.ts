import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { noopLogger } from "@barito-flow/logger";
import { describe, expect, it } from "@jest/globals";
import { Registry } from "prom-client";
import { createCountedPushMetrics } from "./prometheus.js";

describe("createCountedPushMetrics", () => {
  it("is undefined without a URL", () => {
    expect(
      createCountedPushMetrics("x", { pushUrl: undefined, pushIntervalMs: 1_000 }, new Registry(), noopLogger),
    ).toBe(undefined);
  });

  it("counts each push by its result under the given prefix", async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const registry = new Registry();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
    const push = createCountedPushMetrics(
      "barito_test",
      { pushUrl: url, pushIntervalMs: 60_000 },
      registry,
      noopLogger,
    );
    try {
      push?.add("secret-token", 3);
      await push?.push();
      const requests = await registry.getSingleMetric("barito_test_push_metric_requests_total")?.get();
      expect(requests?.values).toEqual([{ value: 1, labels: { result: "failed" } }]);
      expect(registry.getSingleMetric("barito_test_push_metric_dropped_logs_total")).toBeDefined();
    } finally {
      server.close();
    }
  });
});
