// Both paths through the native binding against a real broker: the patched one (batch produce, packed consume) and
// the fallback that `patchedBinding: false` forces, which is what an installation of the stock client gets. Each
// publishes and consumes the same records, and the test checks which native entry points actually ran.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Logger } from "@barito-flow/logger";
import { createBatchConsumer } from "./batch-consumer.js";
import { clientPathsTaken, kafkaClientPathGauge } from "./client-internals.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import type { IncomingRecord, KafkaAdmin } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);

interface ProducerPrototype {
  produceBatch?: (...args: unknown[]) => unknown;
}

/** Counts the calls of the patched `produceBatch` (every producer of the process shares the prototype). */
async function countBatchProduces(): Promise<{ calls: () => number; restore: () => void }> {
  const module = (await import("@confluentinc/kafka-javascript")) as unknown as {
    Producer?: { prototype: ProducerPrototype };
    default?: { Producer: { prototype: ProducerPrototype } };
  };
  const prototype = (module.Producer ?? module.default?.Producer)?.prototype;
  const original = prototype?.produceBatch;
  if (prototype === undefined || original === undefined) {
    throw new Error("the installed binding has no produceBatch: is the patch applied?");
  }
  let calls = 0;
  prototype.produceBatch = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  return { calls: () => calls, restore: () => (prototype.produceBatch = original) };
}

function capturingLogger(lines: Array<{ msg: string; meta?: Record<string, unknown> }>): Logger {
  const capture = (msg: string, meta?: Record<string, unknown>) => {
    lines.push({ msg, meta });
  };
  const logger: Logger = { debug: capture, info: capture, warn: capture, error: capture, child: () => logger };
  return logger;
}

describe.each([
  ["patched", true],
  ["fallback", false],
] as const)("the %s path against a real broker", (path, patchedBinding) => {
  const topic = `it-kafka-path-${runId}-${path}`;
  const count = 50;
  let admin: KafkaAdmin;
  let produceBatchCalls: Awaited<ReturnType<typeof countBatchProduces>>;

  beforeAll(async () => {
    admin = createKafkaAdmin({ brokers, clientId: `it-path-admin-${path}` });
    await admin.connect();
    await admin.createTopic({ topic, partitions: 1 });
    produceBatchCalls = await countBatchProduces();
  });

  afterAll(async () => {
    produceBatchCalls?.restore();
    await admin?.deleteTopics([topic]).catch(() => {});
    await admin?.close();
  });

  it("publishes and consumes records, logs the path at connect and reports it", async () => {
    const lines: Array<{ msg: string; meta?: Record<string, unknown> }> = [];
    const logger = capturingLogger(lines);
    const publisher = createKafkaPublisher({ brokers, clientId: `it-path-pub-${path}`, logger, patchedBinding });
    const consumer = createBatchConsumer({
      brokers,
      clientId: `it-path-con-${path}`,
      groupId: `${topic}-group`,
      logger,
      patchedBinding,
    });
    try {
      await publisher.connect();
      await publisher.publish(
        topic,
        Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`record ${i}`), key: `k${i}` })),
      );
      expect(produceBatchCalls.calls()).toBe(patchedBinding ? 1 : 0);

      const batches: IncomingRecord[][] = [];
      await consumer.connect();
      await consumer.subscribe([topic]);
      await consumer.run({
        eachBatch: async ({ messages }) => {
          batches.push([...messages]);
        },
      });
      const deadline = Date.now() + 30_000;
      while (batches.flat().length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const records = batches.flat();
      expect(records.map((record) => record.value?.toString())).toEqual(
        Array.from({ length: count }, (_, i) => `record ${i}`),
      );
      expect(records.map((record) => record.key?.toString())).toEqual(Array.from({ length: count }, (_, i) => `k${i}`));

      // The packed consume hands out views into one buffer per fetch; the stock conversion copies each value.
      const largest = batches.reduce((a, b) => (b.length > a.length ? b : a));
      expect(largest.length).toBeGreaterThan(1);
      const backingStores = new Set(largest.map((record) => record.value?.buffer));
      expect(backingStores.size).toBe(patchedBinding ? 1 : largest.length);

      const connected = lines.filter(({ msg }) => /^kafka (publisher|consumer) connected$/.test(msg));
      expect(connected.map(({ meta }) => meta?.clientPath)).toEqual([path, path]);
      expect(clientPathsTaken()).toContain(path);
    } finally {
      await consumer.disconnect();
      await publisher.close();
    }
  });
});

describe("kafkaClientPathGauge()", () => {
  it("sets 1 for each path taken, after a reset", () => {
    const calls: string[] = [];
    const gauge = kafkaClientPathGauge("barito_test");
    gauge.collect.call({
      reset: () => calls.push("reset"),
      set: (labels, value) => calls.push(`${labels.path}=${value}`),
    });
    expect(gauge.name).toBe("barito_test_kafka_client_path");
    expect(calls).toEqual(["reset", ...clientPathsTaken().map((path) => `${path}=1`)]);
    expect(clientPathsTaken().sort()).toEqual(["fallback", "patched"]);
  });
});
