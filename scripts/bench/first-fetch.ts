// `node scripts/bench/first-fetch.ts`: how long a new consumer group waits for its first records, from the moment its
// partitions are assigned to the first batch handed to `eachBatch`, on a pre-filled topic. BENCH_TRIALS groups
// (default 8) join one after the other; the output is one JSON line with every trial and the median. It measures what
// librdkafka does between an assignment and the first fetch (offset reset, offset query, fetch), for comparing
// builds of the native client side by side (with scripts/bench/client-variant.ts).
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const kafka = createRequire(join(root, "apps/consumer/package.json"))(
  "@barito-flow/kafka",
) as typeof import("@barito-flow/kafka");
const brokers = [process.env.KAFKA_BROKERS ?? "127.0.0.1:9092"];
const trials = Number(process.env.BENCH_TRIALS ?? 8);
const run = randomUUID().slice(0, 6);
const topic = `benchf${run}_first_fetch`;

async function firstFetchMs(trial: number): Promise<number> {
  let assignedAt: number | undefined;
  const first = Promise.withResolvers<number>();
  const consumer = kafka.createBatchConsumer({
    brokers,
    clientId: `bench-first-fetch-${run}`,
    groupId: `benchf${run}-${trial}`,
    onAssigned: () => {
      assignedAt ??= performance.now();
    },
  });
  try {
    await consumer.connect();
    await consumer.subscribe([topic]);
    await consumer.run({
      eachBatch: async () => {
        if (assignedAt !== undefined) first.resolve(performance.now() - assignedAt);
      },
    });
    const timeout = setTimeout(() => first.reject(new Error("no records within 30 s")), 30_000);
    try {
      return await first.promise;
    } finally {
      clearTimeout(timeout);
    }
  } finally {
    await consumer.disconnect();
  }
}

const admin = kafka.createKafkaAdmin({ brokers, clientId: `bench-first-fetch-${run}` });
const writer = kafka.createKafkaPublisher({ brokers, clientId: `bench-first-fetch-${run}` });
await Promise.all([admin.connect(), writer.connect()]);
try {
  await admin.createTopic({ topic, partitions: 4, replicationFactor: 1 });
  await writer.publish(
    topic,
    Array.from({ length: 1_000 }, (_, i) => ({ value: Buffer.from(`record ${i}`) })),
  );
  const measured: number[] = [];
  for (let trial = 1; trial <= trials; trial++) measured.push(await firstFetchMs(trial));
  const sorted = [...measured].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    JSON.stringify({
      variant: process.env.BENCH_CLIENT_VARIANT ?? "installed",
      trialsMs: measured.map(Math.round),
      medianMs: Math.round(median),
    }),
  );
} finally {
  await writer.close();
  await admin.deleteTopics([topic]).catch(() => undefined);
  await admin.close();
}
