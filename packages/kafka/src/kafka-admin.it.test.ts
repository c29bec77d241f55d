import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Logger } from "@barito-flow/logger";
import { createKafkaAdmin } from "./kafka-admin.js";
import type { KafkaAdmin } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);
const topic = (name: string) => `it-kafka-adm-${runId}-${name}`;

describe("createKafkaAdmin() against a real broker", () => {
  let admin: KafkaAdmin;
  let rival: KafkaAdmin;
  const created: string[] = [];

  beforeAll(async () => {
    admin = createKafkaAdmin({ brokers, clientId: "it-admin" });
    rival = createKafkaAdmin({ brokers, clientId: "it-admin-rival" });
    await Promise.all([admin.connect(), rival.connect()]);
  });

  afterAll(async () => {
    await admin?.deleteTopics(created).catch(() => {});
    await Promise.all([admin?.close(), rival?.close()]);
  });

  it("creates a topic once and reports 'exists' afterwards, with the requested partitions", async () => {
    const name = topic("once");
    created.push(name);
    expect(await admin.createTopic({ topic: name, partitions: 4 })).toBe("created");
    expect(await admin.createTopic({ topic: name, partitions: 4 })).toBe("exists");
    expect(await admin.fetchTopicOffsets(name)).toEqual(
      [0, 1, 2, 3].map((partition) => ({ partition, low: "0", high: "0" })),
    );
  });

  it("resolves concurrent creations of one topic from two clients as one 'created' and the rest 'exists'", async () => {
    const name = topic("race");
    created.push(name);
    const outcomes = await Promise.all([
      admin.createTopic({ topic: name, partitions: 2 }),
      rival.createTopic({ topic: name, partitions: 2 }),
      admin.createTopic({ topic: name, partitions: 2 }),
      rival.createTopic({ topic: name, partitions: 2 }),
    ]);
    expect(outcomes.filter((outcome) => outcome === "created")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "exists")).toHaveLength(3);
  });

  it("uses broker defaults for partitions and replication factor -1 / undefined", async () => {
    const name = topic("defaults");
    created.push(name);
    expect(await admin.createTopic({ topic: name, partitions: -1, replicationFactor: -1 })).toBe("created");
    expect((await admin.fetchTopicOffsets(name)).length).toBeGreaterThanOrEqual(1);
  });

  it("answers topicExists from its cache and refreshes on a miss, so a topic created elsewhere is seen", async () => {
    const name = topic("seen-later");
    expect(await admin.topicExists(name)).toBe(false);
    created.push(name);
    await rival.createTopic({ topic: name, partitions: 1 });
    expect(await admin.topicExists(name)).toBe(true);
    expect(await admin.listTopics()).toContain(name);
  });

  it("reports a group without commits as offset -1 for every partition", async () => {
    const name = topic("no-commits");
    created.push(name);
    await admin.createTopic({ topic: name, partitions: 2 });
    expect(await admin.fetchCommittedOffsets(`it-group-${runId}-none`, [name])).toEqual([
      { topic: name, partition: 0, offset: "-1" },
      { topic: name, partition: 1, offset: "-1" },
    ]);
  });

  it("rejects invalid specs with INVALID_ARGUMENT and a field path", async () => {
    await expect(admin.createTopic({ topic: "bad topic" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "topic",
    });
    await expect(admin.createTopic({ topic: topic("bad-partitions"), partitions: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "partitions",
    });
  });

  it("pings a live cluster true, and an unreachable one false", async () => {
    expect(await admin.ping()).toBe(true);
    const unreachable = createKafkaAdmin({ brokers: ["127.0.0.1:1"], clientId: "it-admin-dead", pingTimeoutMs: 500 });
    try {
      await unreachable.connect().catch(() => {});
      // A ping that ignored pingTimeoutMs would hang and fail on the test's own timeout; how fast it answers is no
      // behaviour of its own (the 2 s default would pass a wall-clock bound as well).
      expect(await unreachable.ping()).toBe(false);
    } finally {
      await unreachable.close();
    }
  });

  it("counts a request as a running native call until librdkafka returns it, and close() waits without blocking", async () => {
    const unreachable = createKafkaAdmin({
      brokers: ["127.0.0.1:1"],
      clientId: "it-admin-busy",
      requestTimeoutMs: 1_500,
    });
    await unreachable.connect().catch(() => {});
    expect(unreachable.nativeCallRunning()).toBe(false);
    const listing = unreachable.listTopics().then(
      () => "listed",
      (error: { code?: string }) => error.code,
    );
    expect(unreachable.nativeCallRunning()).toBe(true);
    // librdkafka's disconnect waits for the running request on the JavaScript thread: called at once it would
    // freeze the event loop until the request's own timeout, and no timer would fire meanwhile.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    try {
      await unreachable.close();
    } finally {
      clearInterval(ticker);
    }
    expect(await listing).not.toBe("listed");
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(unreachable.nativeCallRunning()).toBe(false);
  });

  it("stays connected while a request outlasts close()'s wait, says so, and disconnects once it ends", async () => {
    const messages: string[] = [];
    const record = (message: string) => {
      messages.push(message);
    };
    const logger: Logger = { debug: record, info: record, warn: record, error: record, child: () => logger };
    const unreachable = createKafkaAdmin({
      brokers: ["127.0.0.1:1"],
      clientId: "it-admin-slow",
      requestTimeoutMs: 1_500,
      logger,
    });
    await unreachable.connect().catch(() => {});
    const listing = unreachable.listTopics().catch(() => "failed");
    await unreachable.close(100);
    expect(unreachable.nativeCallRunning()).toBe(true);
    expect(messages).toContain("kafka admin disconnects once its running request ends");
    expect(messages).not.toContain("kafka admin closed");
    await listing;
    // Left connected, the idle client kept the process (and this Jest run) alive for good.
    const deadline = Date.now() + 10_000;
    while (!messages.includes("kafka admin closed") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(messages).toContain("kafka admin closed");
    expect(unreachable.nativeCallRunning()).toBe(false);
  });
});
