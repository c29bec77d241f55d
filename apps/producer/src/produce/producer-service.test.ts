import { create, fromBinary } from "@bufbuild/protobuf";
import { noopLogger } from "@barito-flow/logger";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import type { OutgoingRecord } from "./ports.js";
import { ProduceError } from "./produce-error.js";
import { createProducerService, type ProducerSettings } from "./producer-service.js";
import { createTopicProvisioner } from "./topic-provisioner.js";

const context = {
  kafkaTopic: "billing",
  esIndexPrefix: "billing",
  appMaxTps: 10,
  kafkaPartition: 3,
  kafkaReplicationFactor: 1,
};
const content = { message: "paid" };

function setup(
  overrides: Partial<ProducerSettings> = {},
  opts: { connected?: boolean; failPublish?: unknown; failCreate?: unknown; capacity?: number } = {},
) {
  const written: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
  const created: Array<{ topic: string; partitions?: number; replicationFactor?: number }> = [];
  const existing = new Set<string>();
  const publisher = {
    isConnected: () => opts.connected ?? true,
    async publish(topic: string, records: readonly OutgoingRecord[]) {
      if (opts.failPublish && topic !== "new_topic_events") throw opts.failPublish;
      written.push({ topic, records });
    },
  };
  const admin = {
    topicExists: async (topic: string) => existing.has(topic),
    async createTopic(spec: { topic: string; partitions?: number; replicationFactor?: number }) {
      if (opts.failCreate && spec.topic !== "new_topic_events") throw opts.failCreate;
      created.push(spec);
      existing.add(spec.topic);
      return "created" as const;
    },
  };
  const charged: Array<{ key: string; cost: number; tps: number }> = [];
  let allow = true;
  const capacity = opts.capacity ?? 1_000;
  const rateLimiter = {
    async take(key: string, cost: number, tps: number) {
      if (!allow || cost > capacity) return { allowed: false, retryAfterMs: 2500, limit: capacity };
      charged.push({ key, cost, tps });
      return { allowed: true, retryAfterMs: 0, limit: capacity };
    },
  };
  const topics = createTopicProvisioner({
    admin,
    publisher,
    newTopicEventTopic: "new_topic_events",
    ignoreKafkaOptions: false,
    logger: noopLogger,
  });
  const service = createProducerService({
    publisher,
    topics,
    rateLimiter,
    logger: noopLogger,
    clock: () => new Date("2026-03-04T05:06:07.890Z"),
    settings: {
      topicPrefix: "",
      topicSuffix: "_logs",
      maxBatchItems: 100,
      messageFormat: "Timber",
      maxMessageBytes: 1_000_000,
      ...overrides,
    },
  });
  return {
    service,
    written,
    created,
    charged,
    topics,
    deny: () => {
      allow = false;
    },
  };
}

describe("createProducerService()", () => {
  it("writes one Timber per log with the collection's context and the receive time, after creating and announcing the topic", async () => {
    const { service, written, created, charged, topics } = setup();
    const batch = create(TimberCollectionSchema, { context, items: [{ content }, { content }] });
    await expect(service.produceBatch(batch, { idempotencyKey: "k1" })).resolves.toEqual({ topic: "billing_logs" });
    await topics.close();
    expect(created).toEqual([
      { topic: "billing_logs", partitions: 3, replicationFactor: 1 },
      { topic: "new_topic_events", partitions: -1, replicationFactor: -1 },
    ]);
    const logs = written.find((w) => w.topic === "billing_logs");
    expect(logs?.records).toHaveLength(2);
    const first = fromBinary(TimberSchema, logs?.records[0]?.value as Uint8Array);
    expect(first.context?.kafkaTopic).toBe("billing");
    expect(first.timestamp).toBe("2026-03-04T05:06:07Z");
    expect(logs?.records[1]?.headers).toEqual({ "idempotency-key": "k1", "idempotency-item": "1" });
    expect(written.find((w) => w.topic === "new_topic_events")?.records[0]?.value.toString()).toBe("billing_logs");
    expect(charged).toEqual([{ key: "billing_logs", cost: 2, tps: 10 }]);
  });

  it("writes one TimberCollection record with the message_format header in collection mode", async () => {
    const { service, written } = setup({ messageFormat: "TimberCollection" });
    await service.produceBatch(
      create(TimberCollectionSchema, { context, items: [{ content }, { content }, { content }] }),
    );
    const logs = written.find((w) => w.topic === "billing_logs");
    expect(logs?.records).toHaveLength(1);
    expect(logs?.records[0]?.headers).toEqual({ message_format: "TimberCollection" });
    expect(fromBinary(TimberCollectionSchema, logs?.records[0]?.value as Uint8Array).items).toHaveLength(3);
  });

  it("rejects invalid input naming every field, before anything reaches Kafka", async () => {
    const { service, written } = setup();
    const bad = create(TimberCollectionSchema, {
      context: { kafkaTopic: "bad topic!", esIndexPrefix: "Upper", appMaxTps: 0 },
      items: [{}],
    });
    const error = await service.produceBatch(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProduceError);
    expect((error as ProduceError).code).toBe("INVALID_ARGUMENT");
    expect((error as ProduceError).details.map((d) => d.field)).toEqual([
      "context.kafka_topic",
      "context.es_index_prefix",
      "context.app_max_tps",
      "items[0].content",
    ]);
    expect(written).toHaveLength(0);
  });

  it("rejects an empty batch and one over the item limit", async () => {
    const { service } = setup({ maxBatchItems: 2 });
    await expect(service.produceBatch(create(TimberCollectionSchema, { context, items: [] }))).rejects.toMatchObject({
      details: [{ field: "items" }],
    });
    const three = create(TimberCollectionSchema, { context, items: [{ content }, { content }, { content }] });
    await expect(service.produceBatch(three)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      details: [{ field: "items" }],
    });
  });

  it("answers 429-style with a retry hint when the limit is hit, and writes nothing", async () => {
    const { service, written, deny } = setup();
    deny();
    const error = (await service
      .produce(create(TimberSchema, { context, content }))
      .catch((e: unknown) => e)) as ProduceError;
    expect(error.code).toBe("RATE_LIMITED");
    expect(error.httpStatus).toBe(429);
    expect(error.retryAfterMs).toBe(2500);
    expect(written).toHaveLength(0);
  });

  it("refuses a batch larger than a whole rate-limit window as invalid, not as retryable", async () => {
    const { service, written } = setup({}, { capacity: 2 });
    const three = create(TimberCollectionSchema, { context, items: [{ content }, { content }, { content }] });
    const error = (await service.produceBatch(three).catch((e: unknown) => e)) as ProduceError;
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", retriable: false, details: [{ field: "items" }] });
    expect(error.details[0]?.reason).toMatch(/3 logs exceed the 2 logs one rate-limit window admits/);
    expect(written).toHaveLength(0);
  });

  it("uses the app-group bucket when disable_app_tps is set", async () => {
    const { service, charged } = setup({ topicPrefix: "c1-" });
    await service.produce(
      create(TimberSchema, { context: { ...context, disableAppTps: true, appGroupMaxTps: 50 }, content }),
    );
    expect(charged).toEqual([{ key: "app_group:c1-", cost: 1, tps: 50 }]);
  });

  it("refuses records above the size limit with PAYLOAD_TOO_LARGE naming the item", async () => {
    const { service } = setup({ maxMessageBytes: 200 });
    const big = { message: "x".repeat(300) };
    const batch = create(TimberCollectionSchema, { context, items: [{ content }, { content: big }] });
    await expect(service.produceBatch(batch)).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      details: [{ field: "items[1]" }],
    });
  });

  it("answers UNAVAILABLE with a retry hint when Kafka is down, and PARTIALLY_WRITTEN when a batch write fails", async () => {
    await expect(
      setup({}, { connected: false }).service.produce(create(TimberSchema, { context, content })),
    ).rejects.toMatchObject({
      code: "KAFKA_UNAVAILABLE",
      retryAfterMs: 5000,
    });
    const failing = setup({}, { failPublish: { code: "TIMEOUT", retriable: true } });
    const batch = create(TimberCollectionSchema, { context, items: [{ content }, { content }] });
    await expect(failing.service.produceBatch(batch)).rejects.toMatchObject({
      code: "PARTIALLY_WRITTEN",
      httpStatus: 503,
    });
    await failing.topics.close();
  });

  it("answers a write refused for too few in-sync replicas with its own retryable NOT_ENOUGH_REPLICAS", async () => {
    const failing = setup({}, { failPublish: { code: "NOT_ENOUGH_REPLICAS", retriable: true } });
    await expect(failing.service.produce(create(TimberSchema, { context, content }))).rejects.toMatchObject({
      code: "NOT_ENOUGH_REPLICAS",
      httpStatus: 503,
      retryAfterMs: 5000,
      message: expect.stringContaining("min.insync.replicas"),
    });
    const batch = create(TimberCollectionSchema, { context, items: [{ content }, { content }] });
    await expect(failing.service.produceBatch(batch)).rejects.toMatchObject({
      code: "NOT_ENOUGH_REPLICAS",
      message: expect.stringContaining("Idempotency-Key"),
    });
    await failing.topics.close();
  });

  it("answers Kafka's refusal of a partition count or replication factor as final, naming the field", async () => {
    const refusal = {
      code: "INVALID_ARGUMENT",
      retriable: false,
      librdkafkaCode: 38,
      message: "create topic: Replication factor: 3 larger than available brokers: 1.",
    };
    const refused = setup({}, { failCreate: refusal });
    await expect(refused.service.produce(create(TimberSchema, { context, content }))).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      retryAfterMs: undefined,
      details: [{ field: "context.kafka_replication_factor", reason: expect.stringContaining("available brokers") }],
    });
    const down = setup({}, { failCreate: { code: "TIMEOUT", retriable: true } });
    await expect(down.service.produce(create(TimberSchema, { context, content }))).rejects.toMatchObject({
      code: "KAFKA_UNAVAILABLE",
    });
  });
});
