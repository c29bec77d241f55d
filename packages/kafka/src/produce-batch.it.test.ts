// The patched binding's batch path (patches/@confluentinc__kafka-javascript@1.10.1.patch) against the real local
// Kafka: `produceBatch` itself (one callback per batch, values/keys/headers kept, the same librdkafka codes as
// `produce()`, synchronous refusals, many concurrent batches) and the publisher on both of its paths (batch and the
// per-record fallback of an unpatched binary), which must give callers the same outcomes. Records are read back with
// kcat, an independent client.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { KafkaError } from "./errors.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import { toKafkaError } from "./to-kafka-error.js";
import type { KafkaAdmin, KafkaPublisherOptions, MessagePublisher } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);
const topic = (name: string) => `it-kafka-batch-${runId}-${name}`;

type Headers = Record<string, Buffer | string>;
type Key = Buffer | string | null;
interface LibrdKafkaError extends Error {
  code: number;
}
type BatchCallback = (error: LibrdKafkaError | null) => void;

/** The node-rdkafka producer of @confluentinc/kafka-javascript, as far as these tests use it. */
interface NativeProducer {
  connect(metadataOptions: object, callback: (error: unknown) => void): unknown;
  setPollInBackground(set: boolean): void;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer,
    key: Key,
    timestamp: number | null,
    opaque: unknown,
    headers?: Array<Record<string, Buffer | string>>,
  ): unknown;
  produceBatch?: (
    topic: string,
    partition: number | null,
    values: Buffer[],
    keys: Key[] | null,
    headers: Array<Headers | null> | null,
    callback: BatchCallback,
  ) => unknown;
  on(
    event: "delivery-report",
    listener: (error: LibrdKafkaError | null, report: { opaque?: unknown }) => void,
  ): unknown;
  flush(timeoutMs: number, callback: (error: unknown) => void): unknown;
  disconnect(callback: (error: unknown) => void): unknown;
}
interface RdKafkaModule {
  Producer: { new (conf: Record<string, unknown>): NativeProducer; prototype: NativeProducer };
}

async function loadRdKafka(): Promise<RdKafkaModule> {
  const module = (await import("@confluentinc/kafka-javascript")) as unknown as RdKafkaModule & {
    default?: RdKafkaModule;
  };
  return module.Producer ? module : (module.default as RdKafkaModule);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** One produceBatch() call: its outcome, and how many times its callback ran (more than once would be a bug). */
function startBatch(
  producer: NativeProducer,
  target: string,
  values: Buffer[],
  keys: Key[] | null = null,
  headers: Array<Headers | null> | null = null,
): { settled: Promise<LibrdKafkaError | null>; calls: () => number } {
  let calls = 0;
  const produceBatch = producer.produceBatch;
  if (produceBatch === undefined) throw new Error("the binding has no produceBatch: is the patch applied?");
  const settled = new Promise<LibrdKafkaError | null>((resolve) => {
    produceBatch.call(producer, target, -1, values, keys, headers, (error) => {
      calls++;
      resolve(error);
    });
  });
  return { settled, calls: () => calls };
}

interface KcatRecord {
  partition: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Every record of a topic, read by kcat (JSON envelope; headers as [name, value, ...]). */
function readTopic(target: string): KcatRecord[] {
  return execFileSync("kcat", ["-b", brokers.join(","), "-C", "-t", target, "-o", "beginning", "-e", "-q", "-J"], {
    timeout: 20_000,
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
  })
    .toString()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as KcatRecord);
}

describe("produceBatch() of the patched binding against a real broker", () => {
  let admin: KafkaAdmin;
  let rdkafka: RdKafkaModule;
  const producers: NativeProducer[] = [];
  const created: string[] = [];

  beforeAll(async () => {
    rdkafka = await loadRdKafka();
    admin = createKafkaAdmin({ brokers, clientId: "it-batch-admin" });
    await admin.connect();
  });

  afterAll(async () => {
    for (const producer of producers) {
      await new Promise((resolve) => producer.flush(5_000, resolve));
      await new Promise((resolve) => producer.disconnect(resolve));
    }
    await admin?.deleteTopics(created).catch(() => {});
    await admin?.close();
  });

  async function createTopic(name: string, partitions = 3, config?: Record<string, string>): Promise<string> {
    const full = topic(name);
    await admin.createTopic({ topic: full, partitions, ...(config ? { config } : {}) });
    created.push(full);
    return full;
  }

  async function recordsIn(target: string): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(target);
    return offsets.reduce((sum, { low, high }) => sum + Number(high) - Number(low), 0);
  }

  /** A connected producer with the publisher's delivery settings (acks=all, idempotence, zstd). */
  async function nativeProducer(settings: Record<string, unknown> = {}): Promise<NativeProducer> {
    const producer = new rdkafka.Producer({
      "metadata.broker.list": brokers.join(","),
      dr_cb: true,
      acks: -1,
      "enable.idempotence": true,
      "compression.codec": "zstd",
      "linger.ms": 5,
      "message.timeout.ms": 10_000,
      "allow.auto.create.topics": false,
      "topic.metadata.propagation.max.ms": 1_000,
      ...settings,
    });
    await new Promise<void>((resolve, reject) =>
      producer.connect({}, (error) => (error ? reject(error as Error) : resolve())),
    );
    producer.setPollInBackground(true);
    producers.push(producer);
    return producer;
  }

  let markerTopic: Promise<string> | undefined;
  /**
   * Resolves once every batch callback the producer owes has run, instead of a fixed pause: flush() returns when
   * librdkafka has handed over every delivery report (each queued for its batch callback), and a one-record batch
   * sent after that is called back through the same queue, after all of them.
   */
  async function everyCallbackRan(producer: NativeProducer): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      producer.flush(10_000, (error) => (error ? reject(error as Error) : resolve())),
    );
    markerTopic ??= createTopic("callback-marker", 1);
    const marker = startBatch(producer, await markerTopic, [Buffer.from("marker")]);
    expect(await marker.settled).toBeNull();
  }

  it("is present on the producer (the patch is applied and compiled)", () => {
    expect(typeof rdkafka.Producer.prototype.produceBatch).toBe("function");
  });

  it("acknowledges a batch with one callback and keeps every value, key and header; produce() keeps its own reports", async () => {
    const target = await createTopic("roundtrip");
    const producer = await nativeProducer();
    const reports: unknown[] = [];
    producer.on("delivery-report", (error, report) => reports.push(error ?? report.opaque));

    const count = 60;
    const values = Array.from({ length: count }, (_, i) => Buffer.from(`value-${i}`));
    const keys: Key[] = Array.from({ length: count }, (_, i) =>
      i % 3 === 0 ? null : i % 3 === 1 ? `key-${i}` : Buffer.from(`buffer-key-${i}`),
    );
    const headers = Array.from({ length: count }, (_, i) =>
      i % 4 === 0
        ? null
        : { "idempotency-key": "request-1", "idempotency-item": String(i), bytes: Buffer.from("AB"), text: "é✓" },
    );
    const batch = startBatch(producer, target, values, keys, headers);
    expect(await batch.settled).toBeNull();

    producer.produce(target, null, Buffer.from("single"), "single-key", null, { mine: true });
    await waitFor(() => reports.length === 1, 10_000, "the delivery report of produce()");
    await everyCallbackRan(producer);
    expect(batch.calls()).toBe(1);
    // No per-record report of the batch reached JS; the produce() one did, with its opaque.
    expect(reports).toEqual([{ mine: true }]);

    const records = readTopic(target);
    expect(records).toHaveLength(count + 1);
    const byValue = new Map(records.map((record) => [record.payload, record]));
    for (let i = 0; i < count; i++) {
      const record = byValue.get(`value-${i}`);
      expect(record).toBeDefined();
      expect(record?.key).toBe(i % 3 === 0 ? null : i % 3 === 1 ? `key-${i}` : `buffer-key-${i}`);
      expect(record?.headers ?? []).toEqual(
        i % 4 === 0 ? [] : ["idempotency-key", "request-1", "idempotency-item", String(i), "bytes", "AB", "text", "é✓"],
      );
    }
    expect(byValue.get("single")?.key).toBe("single-key");
    // Keyed records follow the key's partition, as with produce(): the same key lands on one partition.
    const again = startBatch(producer, target, [Buffer.from("value-again")], ["key-1"]);
    expect(await again.settled).toBeNull();
    const sameKey = readTopic(target).filter((record) => record.key === "key-1");
    expect(new Set(sameKey.map((record) => record.partition)).size).toBe(1);
  });

  it("fails a batch to a missing topic once, with the librdkafka code that produce() reports", async () => {
    const producer = await nativeProducer();
    const missing = topic("never-created");
    const perRecord = new Promise<LibrdKafkaError | null>((resolve) => {
      producer.on("delivery-report", (error) => resolve(error));
    });
    producer.produce(missing, null, Buffer.from("x"), null, null, {});
    const batch = startBatch(producer, missing, [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")]);
    const [old, batched] = await Promise.all([perRecord, batch.settled]);
    expect(typeof old?.code).toBe("number");
    expect(batched).toBeInstanceOf(Error);
    expect(batched?.code).toBe(old?.code);
    expect(toKafkaError(batched).code).toBe("TOPIC_NOT_FOUND");
    // The other two records of the batch fail too: counted, not reported again.
    await everyCallbackRan(producer);
    expect(batch.calls()).toBe(1);
    expect(await admin.topicExists(missing)).toBe(false);
  });

  it("fails a batch the broker refuses as too large with code 10, like produce()", async () => {
    const target = await createTopic("too-large-broker", 1, { "max.message.bytes": "2000" });
    const producer = await nativeProducer();
    const perRecord = new Promise<LibrdKafkaError | null>((resolve) => {
      producer.on("delivery-report", (error) => resolve(error));
    });
    // Random bytes do not compress, so the zstd batch stays above the topic limit.
    producer.produce(target, null, randomBytes(20_000), null, null, {});
    expect((await perRecord)?.code).toBe(10);
    const batch = startBatch(producer, target, [randomBytes(20_000), randomBytes(20_000)]);
    expect((await batch.settled)?.code).toBe(10);
    await everyCallbackRan(producer);
    expect(batch.calls()).toBe(1);
    expect(await recordsIn(target)).toBe(0);
  });

  it("throws a synchronous refusal (a record over message.max.bytes) with produce()'s code and never calls back; records before it are delivered", async () => {
    const target = await createTopic("too-large-client", 1);
    const producer = await nativeProducer({ "message.max.bytes": 1_000, "batch.size": 1_000 });
    let thrown: unknown;
    try {
      producer.produce(target, null, Buffer.alloc(5_000), null, null, {});
    } catch (error) {
      thrown = error;
    }
    expect((thrown as LibrdKafkaError | undefined)?.code).toBe(10);

    let calls = 0;
    let refused: unknown;
    try {
      producer.produceBatch?.(
        target,
        -1,
        [Buffer.from("first"), Buffer.from("second"), Buffer.alloc(5_000), Buffer.from("never")],
        null,
        null,
        () => calls++,
      );
    } catch (error) {
      refused = error;
    }
    expect((refused as LibrdKafkaError | undefined)?.code).toBe(10);
    expect(toKafkaError(refused).code).toBe("MESSAGE_TOO_LARGE");
    await waitFor(() => readTopic(target).length === 2, 10_000, "the two records produced before the refusal");
    expect(readTopic(target).map((record) => record.payload)).toEqual(["first", "second"]);
    await everyCallbackRan(producer);
    expect(calls).toBe(0);
  });

  it("throws QUEUE_FULL when the local queue is full, delivers what was enqueued, and keeps working", async () => {
    const target = await createTopic("queue-full", 1);
    // A long linger keeps the first records queued while the rest of the batch arrives.
    const producer = await nativeProducer({ "queue.buffering.max.messages": 20, "linger.ms": 500 });
    let calls = 0;
    let refused: unknown;
    try {
      producer.produceBatch?.(
        target,
        -1,
        Array.from({ length: 50 }, (_, i) => Buffer.from(`queued-${i}`)),
        null,
        null,
        () => calls++,
      );
    } catch (error) {
      refused = error;
    }
    expect((refused as LibrdKafkaError | undefined)?.code).toBe(-184);
    expect(toKafkaError(refused)).toMatchObject({ code: "QUEUE_FULL", retriable: true });
    await waitFor(() => readTopic(target).length === 20, 10_000, "the 20 records that fit the queue");
    await everyCallbackRan(producer);
    expect(calls).toBe(0);

    const next = startBatch(producer, target, [Buffer.from("after")]);
    expect(await next.settled).toBeNull();
    expect(await recordsIn(target)).toBe(21);
  });

  it("calls back exactly once for each of thousands of concurrent batches, successes and failures mixed", async () => {
    const target = await createTopic("concurrent");
    const missing = topic("concurrent-missing");
    const producer = await nativeProducer({ "message.timeout.ms": 30_000 });
    const batches = 3_000;
    let expectedRecords = 0;
    const runs = Array.from({ length: batches }, (_, b) => {
      const size = 1 + (b % 40);
      const failing = b % 25 === 0;
      if (!failing) expectedRecords += size;
      const values = Array.from({ length: size }, (_, i) =>
        Buffer.from(`batch-${b}-record-${i}-${"x".repeat(b % 300)}`),
      );
      const headers = b % 2 === 0 ? values.map((_, i) => ({ "idempotency-item": String(i) })) : null;
      return { failing, ...startBatch(producer, failing ? missing : target, values, null, headers) };
    });
    const outcomes = await Promise.all(runs.map((run) => run.settled));
    await everyCallbackRan(producer);
    expect(runs.filter((run) => run.calls() !== 1)).toEqual([]);
    runs.forEach((run, b) => {
      if (run.failing) expect(toKafkaError(outcomes[b]).code).toBe("TOPIC_NOT_FOUND");
      else expect(outcomes[b]).toBeNull();
    });
    expect(await recordsIn(target)).toBe(expectedRecords);
  });
});

/** What each publisher path gave callers, compared at the end. */
const outcomes = new Map<string, Array<{ code: string; librdkafkaCode: number | undefined }>>();

describe.each([
  ["batch", true],
  ["per-record fallback", false],
] as const)("createKafkaPublisher() through the %s path", (path, batchPath) => {
  let admin: KafkaAdmin;
  let restore: (() => void) | undefined;
  let batchCalls = 0;
  const publishers: MessagePublisher[] = [];
  const created: string[] = [];

  beforeAll(async () => {
    const { prototype } = (await loadRdKafka()).Producer;
    const original = prototype.produceBatch;
    // The fallback is what an unpatched binary gets: no produceBatch on the internal client.
    prototype.produceBatch = batchPath
      ? function (this: NativeProducer, ...args: Parameters<NonNullable<NativeProducer["produceBatch"]>>) {
          batchCalls++;
          return original?.apply(this, args);
        }
      : undefined;
    restore = () => {
      prototype.produceBatch = original;
    };
    admin = createKafkaAdmin({ brokers, clientId: "it-batch-publisher-admin" });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(publishers.map((publisher) => publisher.close()));
    restore?.();
    await admin?.deleteTopics(created).catch(() => {});
    await admin?.close();
  });

  async function publisher(options: Partial<KafkaPublisherOptions> = {}): Promise<MessagePublisher> {
    const instance = createKafkaPublisher({
      brokers,
      clientId: `it-batch-${path}`,
      deliveryTimeoutMs: 10_000,
      ...options,
    });
    publishers.push(instance);
    await instance.connect();
    return instance;
  }

  async function rejection(promise: Promise<unknown>): Promise<KafkaError> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof KafkaError) return error;
      throw error;
    }
    throw new Error("expected a rejection");
  }

  it("publishes records with keys and idempotency headers, all readable back", async () => {
    const target = topic(`pub-${batchPath ? "batch" : "fallback"}`);
    await admin.createTopic({ topic: target, partitions: 3 });
    created.push(target);
    const subject = await publisher();
    await subject.publish(
      target,
      Array.from({ length: 30 }, (_, i) => ({
        value: Buffer.from(`log-${i}`),
        ...(i % 2 === 0 ? { key: `app-${i % 3}` } : {}),
        headers: { "idempotency-key": "request-7", "idempotency-item": String(i) },
      })),
    );
    const records = readTopic(target);
    expect(records).toHaveLength(30);
    for (const record of records) {
      const i = Number(record.payload?.slice("log-".length));
      expect(record.key).toBe(i % 2 === 0 ? `app-${i % 3}` : null);
      expect(record.headers).toEqual(["idempotency-key", "request-7", "idempotency-item", String(i)]);
    }
    expect(batchCalls > 0).toBe(batchPath);
  });

  it("rejects with the same error codes on either path", async () => {
    const quick = await publisher({ unknownTopicTimeoutMs: 1_000 });
    const missing = await rejection(quick.publish(topic("pub-never-created"), [{ value: Buffer.from("x") }]));
    expect(missing).toMatchObject({ code: "TOPIC_NOT_FOUND", retriable: true });
    expect(typeof missing.librdkafkaCode).toBe("number");

    const limited = topic(`pub-limited-${batchPath ? "batch" : "fallback"}`);
    await admin.createTopic({ topic: limited, partitions: 1, config: { "max.message.bytes": "2000" } });
    created.push(limited);
    const tooLarge = await rejection(quick.publish(limited, [{ value: randomBytes(20_000) }]));
    expect(tooLarge).toMatchObject({ code: "MESSAGE_TOO_LARGE", librdkafkaCode: 10, retriable: false });

    const small = await publisher({ maxQueuedRecords: 10, lingerMs: 500 });
    const queueFull = await rejection(
      small.publish(
        limited,
        Array.from({ length: 30 }, () => ({ value: Buffer.from("q") })),
      ),
    );
    expect(queueFull).toMatchObject({ code: "QUEUE_FULL", librdkafkaCode: -184, retriable: true });
    outcomes.set(
      path,
      [missing, tooLarge, queueFull].map(({ code, librdkafkaCode }) => ({ code, librdkafkaCode })),
    );
  });
});

describe("both publisher paths", () => {
  it("gave callers identical error codes", () => {
    expect(outcomes.get("batch")).toBeDefined();
    expect(outcomes.get("batch")).toEqual(outcomes.get("per-record fallback"));
  });
});
