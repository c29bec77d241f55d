import { describe, expect, it } from "@jest/globals";
import { createConsumerMetrics } from "../metrics.js";
import { createStoredCounts } from "./stored-counts.js";

describe("createStoredCounts()", () => {
  it("adds the counted outcomes to the stored metric on flush, 409 as duplicate, and starts again from zero", async () => {
    const metrics = createConsumerMetrics();
    const counts = createStoredCounts(metrics);
    counts.add("shop-2026.07.08", 201);
    counts.add("shop-2026.07.08", 201);
    counts.add("shop-2026.07.08", 409);
    expect((await metrics.stored.get()).values).toEqual([]);
    counts.flush();
    counts.flush();
    expect((await metrics.stored.get()).values).toEqual([
      { labels: { index: "shop-2026.07.08", status: "201", result: "indexed", error: "" }, value: 2 },
      { labels: { index: "shop-2026.07.08", status: "409", result: "duplicate", error: "" }, value: 1 },
    ]);
  });
});
