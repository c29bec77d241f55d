// The patched binding's packed consume path (patches/@confluentinc__kafka-javascript@1.10.1.patch): a batch of
// messages comes from C++ as one buffer plus their fields, and lib/kafka-consumer.js builds the message objects. It
// must give exactly the messages of the per-message conversion it replaces (what an unpatched binary does): same
// values and keys byte for byte (null, empty, binary), headers (none, several, a repeated name), timestamps, offsets,
// partitions and topics of a subscription to several topics. Both paths read the same records from a real broker.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const runId = randomUUID().slice(0, 8);

interface NativeMessage {
  value: Buffer | null;
  key: Buffer | null;
  size: number;
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  leaderEpoch?: number;
  headers?: Array<Record<string, Buffer>>;
}
type ConsumeCallback = (error: unknown, messages: NativeMessage[]) => void;

interface NativeConsumer {
  connect(options: object, callback: (error: unknown) => void): unknown;
  subscribe(topics: string[]): unknown;
  consume(count: number, callback: ConsumeCallback): unknown;
  disconnect(callback: (error: unknown) => void): unknown;
  /** The native handle: `consume(timeoutMs, count, onlyFirstTimeout, callback[, packed])`. */
  _client: {
    consume(timeoutMs: number, count: number, onlyFirstTimeout: boolean, callback: ConsumeCallback): unknown;
  };
}
interface NativeProducer {
  connect(options: object, callback: (error: unknown) => void): unknown;
  setPollInBackground(set: boolean): void;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer | null,
    key: Buffer | string | null,
    timestamp: number | null,
    opaque: unknown,
    headers?: Array<Record<string, Buffer | string>>,
  ): unknown;
  flush(timeoutMs: number, callback: (error: unknown) => void): unknown;
  disconnect(callback: (error: unknown) => void): unknown;
}
interface RdKafkaModule {
  KafkaConsumer: new (conf: Record<string, unknown>, topicConf: Record<string, unknown>) => NativeConsumer;
  Producer: new (conf: Record<string, unknown>) => NativeProducer;
  AdminClient: {
    create(conf: Record<string, unknown>): {
      createTopic(topic: object, callback: (error: unknown) => void): void;
      deleteTopic(topic: string, callback: (error: unknown) => void): void;
      disconnect(): void;
    };
  };
}

async function loadRdKafka(): Promise<RdKafkaModule> {
  const module = (await import("@confluentinc/kafka-javascript")) as unknown as RdKafkaModule & {
    default?: RdKafkaModule;
  };
  return module.KafkaConsumer ? module : (module.default as RdKafkaModule);
}

const callback =
  (resolve: () => void, reject: (error: unknown) => void) =>
  (error: unknown): void =>
    error ? reject(error) : resolve();

interface Produced {
  topic: string;
  value: Buffer | null;
  key: Buffer | string | null;
  timestamp: number;
  headers?: Array<Record<string, Buffer | string>>;
}

/** Records covering what a message can be: the case is picked by the index so every one shows up many times. */
function records(topic: string, count: number, baseTimestamp: number): Produced[] {
  return Array.from({ length: count }, (_, i) => {
    const value = i % 7 === 0 ? null : i % 7 === 1 ? Buffer.alloc(0) : randomBytes(1 + ((i * 97) % 3000));
    const key =
      i % 5 === 0 ? null : i % 5 === 1 ? `key-${i}` : i % 5 === 2 ? Buffer.alloc(0) : randomBytes(1 + (i % 40));
    const headers: Produced["headers"] =
      i % 4 === 0
        ? undefined
        : i % 4 === 1
          ? [{ only: `h-${i}` }]
          : [{ first: randomBytes(8) }, { repeated: "a" }, { repeated: Buffer.from("b") }, { empty: "" }];
    return { topic, value, key, timestamp: baseTimestamp + i, ...(headers ? { headers } : {}) };
  });
}

/** Reads `count` messages, one consume() call after another, either through the library or the raw native call. */
async function consumeAll(consumer: NativeConsumer, count: number, raw: boolean): Promise<NativeMessage[]> {
  const seen: NativeMessage[] = [];
  const deadline = Date.now() + 60_000;
  while (seen.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out with ${seen.length} of ${count} messages`);
    const batch = await new Promise<NativeMessage[]>((resolve, reject) => {
      const done: ConsumeCallback = (error, messages) => (error ? reject(error) : resolve(messages));
      if (raw) consumer._client.consume(1_000, 500, true, done);
      else consumer.consume(500, done);
    });
    seen.push(...batch);
  }
  return seen;
}

const order = (a: NativeMessage, b: NativeMessage) =>
  a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset;

describe("the patched binding's packed consume against a real broker", () => {
  let rdkafka: RdKafkaModule;
  const topics = [`it-kafka-packed-${runId}-a`, `it-kafka-packed-${runId}-b`];
  const produced: Produced[] = [];
  const consumers: NativeConsumer[] = [];

  beforeAll(async () => {
    rdkafka = await loadRdKafka();
    const admin = rdkafka.AdminClient.create({ "metadata.broker.list": brokers, "client.id": "it-packed-admin" });
    try {
      for (const [index, topic] of topics.entries()) {
        await new Promise<void>((resolve, reject) =>
          admin.createTopic(
            { topic, num_partitions: index === 0 ? 3 : 1, replication_factor: 1 },
            callback(resolve, reject),
          ),
        );
      }
    } finally {
      admin.disconnect();
    }
    const producer = new rdkafka.Producer({ "metadata.broker.list": brokers, "client.id": "it-packed-producer" });
    await new Promise<void>((resolve, reject) => producer.connect({}, callback(resolve, reject)));
    producer.setPollInBackground(true);
    const base = Date.now() - 60_000;
    produced.push(...records(topics[0] as string, 1_500, base), ...records(topics[1] as string, 700, base));
    for (const [i, record] of produced.entries()) {
      // Partition 0 of the first topic gets runs of records; the rest goes through the partitioner.
      const partition = record.topic === topics[0] && i % 3 === 0 ? 0 : null;
      producer.produce(record.topic, partition, record.value, record.key, record.timestamp, null, record.headers);
    }
    await new Promise<void>((resolve, reject) => producer.flush(20_000, callback(resolve, reject)));
    await new Promise<void>((resolve, reject) => producer.disconnect(callback(resolve, reject)));
  }, 60_000);

  afterAll(async () => {
    for (const consumer of consumers) await new Promise((resolve) => consumer.disconnect(resolve));
    const admin = rdkafka?.AdminClient.create({ "metadata.broker.list": brokers, "client.id": "it-packed-admin" });
    for (const topic of topics) await new Promise((resolve) => admin?.deleteTopic(topic, resolve));
    admin?.disconnect();
  });

  async function subscribed(group: string): Promise<NativeConsumer> {
    const consumer = new rdkafka.KafkaConsumer(
      { "metadata.broker.list": brokers, "group.id": `it-packed-${runId}-${group}`, "enable.auto.commit": false },
      { "auto.offset.reset": "earliest" },
    );
    consumers.push(consumer);
    await new Promise<void>((resolve, reject) => consumer.connect({}, callback(resolve, reject)));
    consumer.subscribe(topics);
    return consumer;
  }

  it("gives the same messages as the per-message conversion, and the bytes that were produced", async () => {
    const [packed, perMessage] = await Promise.all([
      subscribed("packed").then((consumer) => consumeAll(consumer, produced.length, false)),
      subscribed("per-message").then((consumer) => consumeAll(consumer, produced.length, true)),
    ]);
    packed.sort(order);
    perMessage.sort(order);
    expect(packed.length).toBe(produced.length);
    expect(packed).toEqual(perMessage);
    // toEqual skips properties that are undefined: a property present on one side only must fail too.
    expect(packed.map((message) => Object.keys(message).sort())).toEqual(
      perMessage.map((message) => Object.keys(message).sort()),
    );
    for (const message of packed) {
      if (message.value !== null) expect(Buffer.isBuffer(message.value)).toBe(true);
      if (message.key !== null) expect(Buffer.isBuffer(message.key)).toBe(true);
    }

    // Every record as produced: the timestamp identifies it within its topic.
    const byTimestamp = new Map(produced.map((record) => [`${record.topic}@${record.timestamp}`, record]));
    for (const message of packed) {
      const record = byTimestamp.get(`${message.topic}@${message.timestamp}`);
      expect(record).toBeDefined();
      byTimestamp.delete(`${message.topic}@${message.timestamp}`);
      expect(message.value).toEqual(record?.value ?? null);
      expect(message.size).toBe(record?.value?.length ?? 0);
      const key = record?.key;
      expect(message.key).toEqual(key === null || key === undefined ? null : Buffer.from(key));
      expect(message.headers).toEqual(
        record?.headers?.map((header) =>
          Object.fromEntries(Object.entries(header).map(([name, value]) => [name, Buffer.from(value)])),
        ),
      );
    }
    expect(byTimestamp.size).toBe(0);
  }, 90_000);
});
