// SASL/PLAIN against the local broker's SASL_PLAINTEXT listener (scripts/stack: STACK_KAFKA_SASL_PORT, user
// `barito`): records go through publisher and consumer authenticated, and a wrong password is a clear,
// non-retriable AUTHENTICATION_FAILED that does not echo the password and is logged once per interval.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "@jest/globals";
import type { Logger } from "@barito-flow/logger";
import { createBatchConsumer } from "./batch-consumer.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import { KafkaError } from "./errors.js";
import type { BatchConsumer, KafkaAdmin, MessagePublisher } from "./types.js";

const saslBroker = `127.0.0.1:${process.env.STACK_KAFKA_SASL_PORT || 9094}`;
// The stack's throwaway local account (scripts/stack/components.ts KAFKA_SASL_USER).
const sasl = { mechanism: "plain", username: "barito", password: "barito-local-secret" } as const;
const topic = `it-kafka-sasl-${randomUUID().slice(0, 8)}`;
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

describe("SASL/PLAIN (real broker)", () => {
  it("publishes and consumes through the authenticated listener", async () => {
    const admin: KafkaAdmin = createKafkaAdmin({ brokers: [saslBroker], clientId: "it-sasl-admin", sasl });
    closers.push(() => admin.close());
    await admin.connect();
    await admin.createTopic({ topic, partitions: 1 });
    closers.push(() => admin.deleteTopics([topic]));

    const publisher: MessagePublisher = createKafkaPublisher({ brokers: [saslBroker], clientId: "it-sasl-pub", sasl });
    closers.push(() => publisher.close());
    await publisher.connect();
    await publisher.publish(topic, [{ value: Buffer.from("authenticated") }]);

    const consumer: BatchConsumer = createBatchConsumer({
      brokers: [saslBroker],
      clientId: "it-sasl-con",
      groupId: `${topic}-group`,
      sasl,
    });
    closers.push(() => consumer.disconnect());
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe([topic]);
    await consumer.run({
      eachBatch: async (batch) => {
        values.push(...batch.messages.map((record) => record.value?.toString() ?? ""));
      },
    });
    const deadline = Date.now() + 30_000;
    while (values.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(values).toEqual(["authenticated"]);
  });

  it("says why when the credentials are refused, without echoing the password, and logs it once per interval", async () => {
    const wrong = "not-the-Secret-42";
    const lines: Array<{ level: string; msg: string; meta?: Record<string, unknown> }> = [];
    const capture = (level: string) => (msg: string, meta?: Record<string, unknown>) => {
      lines.push({ level, msg, meta });
    };
    const logger: Logger = {
      debug: capture("debug"),
      info: capture("info"),
      warn: capture("warn"),
      error: capture("error"),
      child: () => logger,
    };
    const publisher = createKafkaPublisher({
      brokers: [saslBroker],
      clientId: "it-sasl-wrong",
      sasl: { ...sasl, password: wrong },
      connectTimeoutMs: 5_000,
      logger,
    });
    closers.push(() => publisher.close());
    // The publisher keeps retrying in the background (credentials get rotated); the caller learns the reason.
    const published = await publisher.connect().then(
      () => "connected",
      (err: unknown) => err as KafkaError,
    );
    expect(published).toBeInstanceOf(KafkaError);
    expect(published).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    expect((published as Error).message).toMatch(/SASL authentication error/);
    expect((published as Error).message).not.toContain(wrong);
    expect(publisher.connectionProblem()).toMatchObject({ code: "AUTHENTICATION_FAILED" });

    // librdkafka retries the refused handshake every few hundred milliseconds to seconds; the refusal is logged once
    // per interval, not once per attempt.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const refusals = lines.filter(({ msg }) => /authentication/i.test(msg));
    expect(refusals.length).toBe(1);
    expect(JSON.stringify(lines)).not.toContain(wrong);
  });
});
