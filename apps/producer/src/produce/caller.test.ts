// The caller's identity (mTLS) travels with the request: to the rate limiter and into the log lines about it.
import { create } from "@bufbuild/protobuf";
import type { Logger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { createProducerService } from "./producer-service.js";

const context = {
  kafkaTopic: "billing",
  esIndexPrefix: "billing",
  appMaxTps: 10,
  kafkaPartition: 1,
  kafkaReplicationFactor: 1,
};

function setup() {
  const takes: unknown[][] = [];
  const lines: Array<{ msg: string; meta: Record<string, unknown> }> = [];
  const logger = (bound: Record<string, unknown>): Logger => ({
    debug: () => {},
    info: () => {},
    warn: (msg, meta) => lines.push({ msg, meta: { ...bound, ...meta } }),
    error: (msg, meta) => lines.push({ msg, meta: { ...bound, ...meta } }),
    child: (meta) => logger({ ...bound, ...meta }),
  });
  const service = createProducerService({
    publisher: {
      isConnected: () => true,
      publish: async () => {
        throw Object.assign(new Error("broker gone"), { code: "TRANSPORT" });
      },
    },
    topics: { ensure: async () => {}, close: async () => {} } as never,
    rateLimiter: {
      take: async (...args: unknown[]) => {
        takes.push(args);
        return { allowed: true, retryAfterMs: 0, limit: 100 };
      },
    },
    logger: logger({}),
    settings: {
      topicPrefix: "",
      topicSuffix: "_logs",
      maxBatchItems: 100,
      messageFormat: "Timber",
      maxMessageBytes: 1_000_000,
      maxTopicPartitions: 10,
      ignoreKafkaOptions: false,
      brokerCount: () => 1,
    },
  });
  return { service, takes, lines };
}

describe("the caller's identity", () => {
  it("is passed to the rate limiter and named in the log line of a failed write", async () => {
    const { service, takes, lines } = setup();
    const timber = create(TimberSchema, { context, content: { m: 1 } });
    await expect(service.produce(timber, { caller: "URI:spiffe://barito/shop" })).rejects.toThrow();
    expect(takes).toEqual([["billing_logs", 1, 10, "URI:spiffe://barito/shop"]]);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "writing to Kafka failed",
        meta: expect.objectContaining({ caller: "URI:spiffe://barito/shop" }),
      }),
    ]);
  });

  it("is absent without mTLS", async () => {
    const { service, takes, lines } = setup();
    await expect(service.produce(create(TimberSchema, { context, content: { m: 1 } }))).rejects.toThrow();
    expect(takes).toEqual([["billing_logs", 1, 10, undefined]]);
    expect(lines[0]?.meta).not.toHaveProperty("caller");
  });
});
