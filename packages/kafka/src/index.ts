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
export type { Logger } from "./logger.js";
export { KafkaError, type KafkaErrorCode, isKafkaError } from "./errors.js";
export { classifyLibrdkafkaCode, toKafkaError } from "./to-kafka-error.js";
export { buildConnectionConfig, type ConnectionConfig } from "./connection-config.js";
export { createKafkaPublisher, publisherProperties } from "./kafka-publisher.js";
export { topicNameProblem } from "./outgoing-record.js";
