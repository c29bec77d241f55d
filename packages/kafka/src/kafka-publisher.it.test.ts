import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { KafkaError } from "./errors.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import type { KafkaAdmin, MessagePublisher } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);
const topic = (name: string) => `it-kafka-pub-${runId}-${name}`;

async function rejection(promise: Promise<unknown>): Promise<KafkaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KafkaError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("createKafkaPublisher() against a real broker", () => {
  let admin: KafkaAdmin;
  let publisher: MessagePublisher;
  const created: string[] = [];

  beforeAll(async () => {
    admin = createKafkaAdmin({ brokers, clientId: "it-admin" });
    await admin.connect();
    publisher = createKafkaPublisher({ brokers, clientId: "it-publisher", deliveryTimeoutMs: 10_000 });
    await publisher.connect();
  });

  afterAll(async () => {
    await publisher?.close();
    await admin?.deleteTopics(created).catch(() => {});
    await admin?.close();
  });

  async function createTopic(name: string, partitions = 3, config?: Record<string, string>): Promise<string> {
    const full = topic(name);
    await admin.createTopic({ topic: full, partitions, ...(config ? { config } : {}) });
    created.push(full);
    return full;
  }

  it("acknowledges every record of many concurrent publish() calls, all of which land in the topic", async () => {
    const target = await createTopic("bulk");
    const calls = 200;
    const perCall = 10;
    await Promise.all(
      Array.from({ length: calls }, (_, call) =>
        publisher.publish(
          target,
          Array.from({ length: perCall }, (_, i) => ({
            value: Buffer.from(JSON.stringify({ call, i, pad: "x".repeat(200) })),
            headers: { message_format: "Timber" },
          })),
        ),
      ),
    );
    const offsets = await admin.fetchTopicOffsets(target);
    const total = offsets.reduce((sum, { low, high }) => sum + Number(high) - Number(low), 0);
    expect(total).toBe(calls * perCall);
    // How fast batching makes this is measured by `pnpm bench producer`, not asserted here.
    expect(publisher.isConnected()).toBe(true);
  });

  it("rejects a record larger than maxMessageBytes with MESSAGE_TOO_LARGE before producing anything", async () => {
    const target = await createTopic("too-large-client", 1);
    const small = createKafkaPublisher({ brokers, clientId: "it-small", maxMessageBytes: 1_000 });
    try {
      await small.connect();
      const error = await rejection(
        small.publish(target, [{ value: Buffer.from("fits") }, { value: randomBytes(5_000) }]),
      );
      expect(error.code).toBe("MESSAGE_TOO_LARGE");
      expect(error.retriable).toBe(false);
      expect(error.field).toBe("records[1]");
      const [partition] = await admin.fetchTopicOffsets(target);
      expect(partition?.high).toBe("0");
    } finally {
      await small.close();
    }
  });

  it("classifies the broker's own size rejection (topic max.message.bytes) as MESSAGE_TOO_LARGE", async () => {
    const target = await createTopic("too-large-broker", 1, { "max.message.bytes": "2000" });
    // Random bytes do not compress, so the zstd batch stays above the topic limit.
    const error = await rejection(publisher.publish(target, [{ value: randomBytes(20_000) }]));
    expect(error.code).toBe("MESSAGE_TOO_LARGE");
    expect(error.librdkafkaCode).toBe(10);
    expect(error.retriable).toBe(false);
  });

  it("rejects a publish to a missing topic with TOPIC_NOT_FOUND within the unknown-topic bound", async () => {
    const quick = createKafkaPublisher({ brokers, clientId: "it-missing", unknownTopicTimeoutMs: 1_000 });
    try {
      await quick.connect();
      const started = Date.now();
      const error = await rejection(quick.publish(topic("never-created"), [{ value: Buffer.from("x") }]));
      expect(error.code).toBe("TOPIC_NOT_FOUND");
      // The behaviour under test is the bound itself: without unknownTopicTimeoutMs librdkafka waits out its own
      // 30 s topic.metadata.propagation.max.ms. 15 s is far from both, so load on the machine cannot flip it.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await admin.topicExists(topic("never-created"))).toBe(false);
    } finally {
      await quick.close();
    }
  });

  it("rejects bad input with INVALID_ARGUMENT and a field path, without touching Kafka", async () => {
    const badTopic = await rejection(publisher.publish("no spaces allowed", [{ value: Buffer.from("x") }]));
    expect(badTopic).toMatchObject({ code: "INVALID_ARGUMENT", field: "topic" });
    const badValue = await rejection(publisher.publish(topic("bulk"), [{ value: "text" as unknown as Buffer }]));
    expect(badValue).toMatchObject({ code: "INVALID_ARGUMENT", field: "records[0].value" });
  });

  it("rejects publish() after close() with CLOSED, and close() is idempotent", async () => {
    const target = await createTopic("closed", 1);
    const shortLived = createKafkaPublisher({ brokers, clientId: "it-closed" });
    await shortLived.connect();
    await shortLived.publish(target, [{ value: Buffer.from("before close"), key: "k" }]);
    await Promise.all([shortLived.close(), shortLived.close()]);
    expect(shortLived.isConnected()).toBe(false);
    const error = await rejection(shortLived.publish(target, [{ value: Buffer.from("after close") }]));
    expect(error.code).toBe("CLOSED");
    const [partition] = await admin.fetchTopicOffsets(target);
    expect(partition?.high).toBe("1");
  });
});
