// Run: pnpm --filter @barito-flow/kafka build && node packages/kafka/examples/quick-start.mjs
// Needs Kafka at KAFKA_BROKERS (default 127.0.0.1:9092), e.g. from `pnpm stack up`.
import { createBatchConsumer, createKafkaAdmin, createKafkaPublisher, nextOffset } from "@barito-flow/kafka";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const topic = `quick-start-${Date.now()}_logs`;

const admin = createKafkaAdmin({ brokers, clientId: "quick-start" });
await admin.connect();
console.log("create topic:", await admin.createTopic({ topic, partitions: 3 }));

const publisher = createKafkaPublisher({ brokers, clientId: "quick-start", lingerMs: 5 });
await publisher.connect();
// Many concurrent publish() calls share librdkafka batches; each resolves once Kafka acknowledged its records.
await Promise.all(
  Array.from({ length: 10 }, (_, call) =>
    publisher.publish(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`log ${call}-${i}`), headers: { app: "demo" } })),
    ),
  ),
);
console.log("published 100 records");

const groupId = `quick-start-${Date.now()}`;
const consumer = createBatchConsumer({
  brokers,
  clientId: "quick-start",
  groupId,
  onAssigned: (partitions) =>
    console.log(
      "assigned",
      partitions.map((p) => p.partition),
    ),
});
await consumer.connect();
await consumer.subscribe([/^quick-start-.*_logs$/]); // a regex also picks up topics created later
let received = 0;
const done = new Promise((resolve) => {
  consumer.run({
    async eachBatch(batch) {
      received += batch.messages.length;
      // ... write the batch somewhere durable first, then commit the NEXT offset to read:
      const last = batch.messages[batch.messages.length - 1];
      await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: nextOffset(last) }]);
      if (received >= 100) resolve();
    },
  });
});
await done;
console.log("consumed", received, "records; committed:", await admin.fetchCommittedOffsets(groupId, [topic]));

await consumer.disconnect();
await publisher.close();
await admin.deleteTopics([topic]);
await admin.close();
