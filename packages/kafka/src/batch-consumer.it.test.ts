import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createBatchConsumer, nextOffset } from "./batch-consumer.js";
import { KafkaError } from "./errors.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import type {
  BatchConsumer,
  BatchConsumerOptions,
  IncomingRecord,
  KafkaAdmin,
  MessagePublisher,
  TopicPartition,
} from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);
const topic = (name: string) => `it-kafka-con-${runId}-${name}`;

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails as soon as `condition` turns true within `forMs`: how a test shows that something does not happen. */
async function expectStaysFalse(condition: () => boolean, forMs: number, what: string): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    if (condition()) throw new Error(`${what}: happened, should not have`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (condition()) throw new Error(`${what}: happened, should not have`);
}

/** Highest processed offset per partition -> commit list (next offset = last + 1). */
function commitsFor(records: IncomingRecord[]) {
  const last = new Map<string, IncomingRecord>();
  for (const record of records) last.set(`${record.topic}/${record.partition}`, record);
  return [...last.values()].map((record) => ({
    topic: record.topic,
    partition: record.partition,
    offset: nextOffset(record),
  }));
}

describe("createBatchConsumer() against a real broker", () => {
  let admin: KafkaAdmin;
  let publisher: MessagePublisher;
  const consumers: BatchConsumer[] = [];
  const created: string[] = [];

  beforeAll(async () => {
    admin = createKafkaAdmin({ brokers, clientId: "it-consumer-admin" });
    await admin.connect();
    publisher = createKafkaPublisher({ brokers, clientId: "it-consumer-publisher" });
    await publisher.connect();
  });

  afterAll(async () => {
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
    await publisher?.close();
    await admin?.deleteTopics(created).catch(() => {});
    await admin?.close();
  });

  function consumer(options: Partial<BatchConsumerOptions> & { groupId: string }): BatchConsumer {
    const instance = createBatchConsumer({
      brokers,
      clientId: "it-consumer",
      sessionTimeoutMs: 6_000,
      maxPollIntervalMs: 10_000,
      topicRefreshIntervalMs: 500,
      ...options,
    });
    consumers.push(instance);
    return instance;
  }

  async function createTopic(name: string, partitions: number): Promise<string> {
    const full = topic(name);
    await admin.createTopic({ topic: full, partitions });
    created.push(full);
    return full;
  }

  async function produce(target: string, count: number, label: string): Promise<void> {
    await publisher.publish(
      target,
      Array.from({ length: count }, (_, i) => ({
        value: Buffer.from(`${label}-${i}`),
        key: `key-${i}`,
        headers: { label },
      })),
    );
  }

  it("consumes every produced record, commits manually, and a second member resumes after the commit", async () => {
    const target = await createTopic("roundtrip", 3);
    const groupId = `it-group-${runId}-roundtrip`;
    await produce(target, 60, "first");

    const assigned: TopicPartition[] = [];
    const first = consumer({ groupId, onAssigned: (partitions) => void assigned.push(...partitions) });
    const seen: IncomingRecord[] = [];
    await first.connect();
    await first.subscribe([target]);
    await first.run({
      eachBatch: async (batch) => {
        seen.push(...batch.messages);
      },
    });
    await waitFor(() => seen.length >= 60, 30_000, "60 records");
    expect(seen.map((r) => r.value?.toString()).sort()).toEqual(
      Array.from({ length: 60 }, (_, i) => `first-${i}`).sort(),
    );
    expect(seen[0]?.headers.label?.toString()).toBe("first");
    expect(seen[0]?.key?.toString()).toMatch(/^key-\d+$/);
    expect(typeof seen[0]?.timestamp).toBe("number");
    expect(assigned.map((p) => p.partition).sort()).toEqual([0, 1, 2]);

    // Nothing is committed until commit() is called, even after processing.
    expect((await admin.fetchCommittedOffsets(groupId, [target])).every((p) => p.offset === "-1")).toBe(true);

    const commits = commitsFor(seen);
    await first.commit(commits);
    const committed = await admin.fetchCommittedOffsets(groupId, [target]);
    const highs = await admin.fetchTopicOffsets(target);
    expect(committed.map(({ partition, offset }) => ({ partition, offset }))).toEqual(
      highs.map(({ partition, high }) => ({ partition, offset: high })),
    );
    expect((await first.committed()).map((p) => p.offset).sort()).toEqual(highs.map((p) => p.high).sort());

    await first.disconnect();
    await first.disconnect();

    await produce(target, 30, "second");
    const second = consumer({ groupId });
    const resumed: IncomingRecord[] = [];
    await second.connect();
    await second.subscribe([target]);
    await second.run({
      eachBatch: async (batch) => {
        resumed.push(...batch.messages);
      },
    });
    // Every record of the second round seen: a committed record delivered again has a lower offset in its
    // partition, so it would have arrived before them; no fixed pause is needed to catch it.
    await waitFor(
      () => new Set(resumed.map((r) => r.value?.toString()).filter((v) => v?.startsWith("second-"))).size === 30,
      30_000,
      "the 30 new records",
    );
    // Exactly the records after the committed offsets: nothing lost, nothing committed delivered again.
    expect(resumed.map((r) => r.value?.toString()).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `second-${i}`).sort(),
    );
    await second.disconnect();
  });

  it("delivers a batch again when eachBatch throws, so no record is skipped", async () => {
    const target = await createTopic("redeliver", 1);
    await produce(target, 5, "retry");
    const subject = consumer({ groupId: `it-group-${runId}-redeliver` });
    let attempts = 0;
    const processed: string[] = [];
    await subject.connect();
    await subject.subscribe([target]);
    await subject.run({
      eachBatch: async (batch) => {
        attempts += 1;
        if (attempts === 1) throw new Error("sink unavailable");
        processed.push(...batch.messages.map((r) => r.value?.toString() ?? ""));
      },
    });
    await waitFor(() => processed.length >= 5, 30_000, "redelivered records");
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(processed).toEqual(Array.from({ length: 5 }, (_, i) => `retry-${i}`));
  });

  it("picks up a topic created after the consumer started, through a regex subscription", async () => {
    const prefix = `it-kafka-con-${runId}-rx-`;
    const early = await createTopic("rx-early", 1);
    const subject = consumer({ groupId: `it-group-${runId}-regex` });
    const seenTopics = new Set<string>();
    await subject.connect();
    await subject.subscribe([new RegExp(`^${prefix.replaceAll(".", "\\.")}.*_logs$|^${early}$`)]);
    await subject.run({
      eachBatch: async (batch) => {
        seenTopics.add(batch.topic);
      },
    });
    await produce(early, 1, "early");
    await waitFor(() => seenTopics.has(early), 30_000, "the early topic");

    const late = `${prefix}late_logs`;
    await admin.createTopic({ topic: late, partitions: 2 });
    created.push(late);
    await produce(late, 4, "late");
    await waitFor(() => seenTopics.has(late), 30_000, "the topic created later");
  });

  it("refreshTopics() makes a regex subscription see a new topic long before the periodic refresh", async () => {
    const prefix = `it-kafka-con-${runId}-rf-`;
    const early = await createTopic("rf-early", 1);
    // The subscription's first metadata must already list it: the periodic refresh will not come to the rescue.
    await waitFor(async () => (await admin.listTopics()).includes(early), 10_000, "the early topic's metadata");
    // One hour: only the forced refresh can reveal the late topic within this test.
    const subject = consumer({
      groupId: `it-group-${runId}-refresh`,
      topicRefreshIntervalMs: 3_600_000,
      librdkafka: { "metadata.max.age.ms": 1_000 },
    });
    const seenTopics = new Set<string>();
    let seenRecords = 0;
    await subject.connect();
    await subject.subscribe([new RegExp(`^${prefix.replaceAll(".", "\\.")}.*_logs$|^${early}$`)]);
    await subject.run({
      eachBatch: async (batch) => {
        seenTopics.add(batch.topic);
        if (batch.topic === early) seenRecords += batch.messages.length;
      },
    });
    await produce(early, 1, "early");
    await waitFor(() => seenTopics.has(early), 30_000, "the early topic");

    const late = `${prefix}late_logs`;
    await admin.createTopic({ topic: late, partitions: 1 });
    created.push(late);
    await produce(late, 3, "late");
    // Not discovered without refreshTopics(): the late topic stays unseen for a bounded while after its metadata is
    // out (twice metadata.max.age.ms), while the consumer keeps running (it reads a record produced meanwhile).
    await waitFor(async () => (await admin.listTopics()).includes(late), 10_000, "the late topic's metadata");
    await produce(early, 1, "still-running");
    await waitFor(() => seenRecords >= 2, 30_000, "the early topic's next record");
    await expectStaysFalse(() => seenTopics.has(late), 2_000, "the late topic seen before refreshTopics()");
    await subject.refreshTopics();
    await waitFor(() => seenTopics.has(late), 15_000, "the topic revealed by refreshTopics()");
  });

  it("re-subscribes to a changed topic list at runtime", async () => {
    const a = await createTopic("set-a", 1);
    const b = await createTopic("set-b", 1);
    const subject = consumer({ groupId: `it-group-${runId}-set` });
    const values: string[] = [];
    await subject.connect();
    await subject.subscribe([a]);
    await subject.run({
      eachBatch: async (batch) => {
        values.push(...batch.messages.map((r) => r.value?.toString() ?? ""));
      },
    });
    await produce(a, 1, "a");
    await waitFor(() => values.includes("a-0"), 30_000, "topic a");
    await subject.subscribe([a, b]);
    await produce(b, 1, "b");
    await waitFor(() => values.includes("b-0"), 30_000, "topic b after re-subscribe");
  });

  it("awaits onRevoked before handing partitions to a new member, so offsets committed there are not re-delivered", async () => {
    const target = await createTopic("rebalance", 4);
    const groupId = `it-group-${runId}-rebalance`;
    await produce(target, 40, "old");

    const processedByA = new Map<number, IncomingRecord>();
    const revokedFromA: TopicPartition[] = [];
    let countA = 0;
    const memberA = consumer({
      groupId,
      clientId: "it-member-a",
      onRevoked: async (partitions) => {
        revokedFromA.push(...partitions);
        const done = partitions.flatMap(({ partition }) => {
          const last = processedByA.get(partition);
          return last ? [{ topic: target, partition, offset: nextOffset(last) }] : [];
        });
        await memberA.commit(done);
      },
    });
    await memberA.connect();
    await memberA.subscribe([target]);
    await memberA.run({
      eachBatch: async (batch) => {
        countA += batch.messages.length;
        const last = batch.messages.at(-1);
        if (last) processedByA.set(batch.partition, last);
      },
    });
    await waitFor(() => countA >= 40, 30_000, "member A to process the backlog");

    const receivedByB: IncomingRecord[] = [];
    const memberB = consumer({ groupId, clientId: "it-member-b" });
    await memberB.connect();
    await memberB.subscribe([target]);
    await memberB.run({
      eachBatch: async (batch) => {
        receivedByB.push(...batch.messages);
      },
    });
    await waitFor(() => memberB.assignment().length > 0, 30_000, "member B to get partitions");
    expect(revokedFromA.length).toBeGreaterThan(0);
    expect(memberA.assignment().length + memberB.assignment().length).toBe(4);

    await produce(target, 20, "new");
    await waitFor(
      () => receivedByB.filter((r) => r.value?.toString().startsWith("new")).length + countA - 40 >= 20,
      30_000,
      "the new records",
    );
    // B took over partitions A had processed and committed in onRevoked: it sees only records produced later. An old
    // record delivered again would precede the new ones of its partition, so it is already in receivedByB by now.
    expect(receivedByB.filter((r) => r.value?.toString().startsWith("old"))).toEqual([]);
  });

  it("rejects disconnect() from inside eachBatch instead of deadlocking, and tolerates concurrent disconnects", async () => {
    const target = await createTopic("inside", 1);
    await produce(target, 1, "inside");
    const subject = consumer({ groupId: `it-group-${runId}-inside` });
    let insideError: unknown;
    await subject.connect();
    await subject.subscribe([target]);
    await subject.run({
      eachBatch: async () => {
        insideError ??= await subject.disconnect().then(
          () => "resolved",
          (error: unknown) => error,
        );
      },
    });
    await waitFor(() => insideError !== undefined, 30_000, "a batch");
    expect(insideError).toMatchObject({ code: "INVALID_STATE" });
    await Promise.all([subject.disconnect(), subject.disconnect(), subject.disconnect()]);
    expect(subject.assignment()).toEqual([]);
  });

  it("refuses invalid subscriptions and commits with INVALID_ARGUMENT", async () => {
    const subject = consumer({ groupId: `it-group-${runId}-invalid` });
    await subject.connect();
    await expect(subject.subscribe([/logs$/])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "topics[0]" });
    await expect(subject.commit([{ topic: "t", partition: 0, offset: "-5" }])).rejects.toBeInstanceOf(KafkaError);
    await subject.disconnect();
    await expect(subject.subscribe(["t"])).rejects.toMatchObject({ code: "CLOSED" });
  });
});
