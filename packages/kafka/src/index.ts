export { createBatchConsumer, nextOffset } from "./batch-consumer.js";
export { type ClientPath, clientPathsTaken, kafkaClientPathGauge } from "./client-internals.js";
export { connectionFromSettings, type KafkaConnectionSettings } from "./connection-from-settings.js";
export { isKafkaError, KafkaError } from "./errors.js";
export type { KafkaErrorCode, KafkaErrorOptions } from "./errors.js";
export { createKafkaAdmin } from "./kafka-admin.js";
export { createKafkaPublisher } from "./kafka-publisher.js";
export { toKafkaError } from "./to-kafka-error.js";
export type {
  BatchConsumer,
  BatchConsumerOptions,
  BatchHandler,
  CreateTopicSpec,
  IncomingBatch,
  IncomingRecord,
  KafkaAdmin,
  KafkaAdminOptions,
  KafkaConnectionOptions,
  KafkaPublisherOptions,
  KafkaSaslOptions,
  KafkaTlsOptions,
  LibrdkafkaProperties,
  MessagePublisher,
  OutgoingRecord,
  PartitionOffsets,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
  TopicSelector,
} from "./types.js";
