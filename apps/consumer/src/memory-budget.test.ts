import { describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";
import { consumerFetchProperties, memoryBudgetProblem } from "./memory-budget.js";

const mib = 1_048_576;

describe("consumerFetchProperties()", () => {
  it("bounds librdkafka's queue by the prefetch and keeps one fetch response a sixteenth of it", () => {
    expect(consumerFetchProperties(16 * mib)).toEqual({
      "queued.max.messages.kbytes": 16_384,
      "fetch.max.bytes": mib,
      "fetch.message.max.bytes": 262_144,
      "fetch.queue.backoff.ms": 10,
    });
    expect(consumerFetchProperties(64 * mib)["fetch.max.bytes"]).toBe(4 * mib);
    expect(consumerFetchProperties(mib)["fetch.max.bytes"]).toBe(mib);
  });
});

describe("memoryBudgetProblem()", () => {
  const defaults = loadConsumerConfig({});
  it("accepts the defaults in 512 MiB with the image's heap (half of the limit)", () => {
    expect(memoryBudgetProblem(defaults, 256 * mib, 512 * mib)).toBeUndefined();
  });
  it("checks nothing without a budget", () => {
    expect(memoryBudgetProblem(defaults, 4_096 * mib, undefined)).toBeUndefined();
  });
  it("names every term when the heap alone nearly fills the budget", () => {
    const problem = memoryBudgetProblem(defaults, 450 * mib, 512 * mib);
    expect(problem).toContain("(512 MiB)");
    expect(problem).toContain("heap limit (450 MiB)");
    expect(problem).toContain("BARITO_CONSUMER_PREFETCH_BYTES (48 MiB)");
    expect(problem).toContain("(15 MiB)");
    expect(problem).toContain("= 609 MiB");
  });
  it("counts the prefetch three times", () => {
    const big = loadConsumerConfig({ BARITO_CONSUMER_PREFETCH_BYTES: "64MiB" });
    // 256 + 3 × 64 + 15 + 96 = 559 MiB
    expect(memoryBudgetProblem(big, 256 * mib, 558 * mib)).toContain("= 559 MiB");
    expect(memoryBudgetProblem(big, 256 * mib, 559 * mib)).toBeUndefined();
  });
});
