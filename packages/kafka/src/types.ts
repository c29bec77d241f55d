import type { Logger } from "@barito-flow/logger";
import type { KafkaError } from "./errors.js";

/** librdkafka property values as the native client accepts them (see librdkafka CONFIGURATION.md). */
export type LibrdkafkaProperties = Record<string, string | number | boolean>;

/**
 * TLS towards the brokers. `true` = TLS with the system CA store. For `ca`, `cert` and `key`, a value starting with
 * `-----BEGIN` is PEM content, anything else is a file path (the usual shape of `KAFKA_TLS_CA_FILE`-style settings).
 */
export interface KafkaTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Passphrase of an encrypted private key. Secret: never logged. */
  keyPassword?: string;
  /** Default true. False disables broker certificate verification (test clusters only). */
  rejectUnauthorized?: boolean;
}

export interface KafkaSaslOptions {
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  username: string;
  /** Secret: never logged, and scrubbed from librdkafka log lines. */
  password: string;
}

/** What every client of this package (publisher, admin, consumer) needs to reach the cluster. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers as `host:port`. */
  brokers: readonly string[];
  /**
   * Service discovery (Consul): asked for the bootstrap brokers before each new native client, i.e. at every
   * connection attempt (the publisher's background retries, `connect()` of a consumer or an admin), so a client
   * that could not reach the brokers it knew starts from a fresh list. Undefined, an empty list, an invalid list or a
   * failure keep the last brokers. An established client keeps librdkafka's own broker list (learned from metadata).
   */
  resolveBrokers?: () => Promise<readonly string[] | undefined>;
  clientId: string;
  tls?: KafkaTlsOptions | boolean;
  sasl?: KafkaSaslOptions;
  /** Receives librdkafka's own log lines (secrets scrubbed) and this package's lifecycle logs. Default: silent. */
  logger?: Logger;
  /** Escape hatch: extra librdkafka properties, applied after this package's choices (so they win). */
  librdkafka?: LibrdkafkaProperties;
  /**
   * Whether publisher and consumer use the entry points this repository's patch adds to the native client (batch
   * produce, packed consume) when the installed binding has them. Default true; false makes them take the stock
   * library's path, the one every installation of the unpatched client gets (README: "The patched binding").
   */
  patchedBinding?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Publisher (producer side)
// ---------------------------------------------------------------------------------------------------------------

export interface OutgoingRecord {
  value: Buffer | Uint8Array;
  key?: Buffer | string;
  headers?: Record<string, string | Buffer>;
}

export interface KafkaPublisherOptions extends KafkaConnectionOptions {
  /**
   * Largest record (value + key + headers) accepted, in bytes; librdkafka `message.max.bytes`. Default 1_000_000
   * (the Go original's BARITO_PRODUCER_MAX_MESSAGE_BYTES). Keep it <= the broker/topic `max.message.bytes`.
   */
  maxMessageBytes?: number;
  /** How long librdkafka waits to fill a batch (`linger.ms`). Default 5. */
  lingerMs?: number;
  /**
   * Upper bound for one record from `publish()` to its acknowledgement, including retries and broker outages
   * (`message.timeout.ms` / delivery.timeout.ms). Default 30_000. `publish()` never waits longer than this.
   */
  deliveryTimeoutMs?: number;
  /** Records buffered in librdkafka before `publish()` fails fast with `QUEUE_FULL`. Default 100_000. */
  maxQueuedRecords?: number;
  /** Bytes (KiB) buffered in librdkafka before `QUEUE_FULL`. Default 1_048_576 (1 GiB). */
  maxQueuedKbytes?: number;
  /** Default "zstd" (the Go original's codec). */
  compression?: "zstd" | "lz4" | "gzip" | "snappy" | "none";
  /** Let the broker auto-create unknown topics on publish. Default false: topics are created through the admin. */
  allowAutoTopicCreation?: boolean;
  /**
   * How long a publish to a topic the cluster says does not exist waits before failing with `TOPIC_NOT_FOUND`
   * (`topic.metadata.propagation.max.ms`). Default 5_000 (bounded by deliveryTimeoutMs).
   */
  unknownTopicTimeoutMs?: number;
  /**
   * How long `connect()` waits before rejecting with a retriable `BROKER_UNAVAILABLE` (attempts continue in the
   * background, each bounded by the same time). Default 10_000.
   */
  connectTimeoutMs?: number;
  /** Delay between background connection attempts while the cluster is unreachable at start. Default 2_000. */
  reconnectIntervalMs?: number;
  /**
   * The cluster's `min.insync.replicas` (Kafka's default 1; the production and `stack --cluster` setting is 2).
   * librdkafka retries a write refused for too few in-sync replicas until it times out, so a `TIMEOUT` is reported
   * as `NOT_ENOUGH_REPLICAS` when the topic's metadata then shows a led partition whose in-sync replicas shrank
   * below this (fewer than its replicas and fewer than this). Default 2.
   */
  minInsyncReplicas?: number;
}

/**
 * Port: durable publishing. `publish` resolves only when Kafka acknowledged every record (acks=all, idempotent), and
 * rejects with a `KafkaError` otherwise. It is not atomic: on rejection some records of the call may already be in
 * Kafka, so a retry can duplicate them (at-least-once).
 */
export interface MessagePublisher {
  /**
   * Connects, resolving when the cluster answered. If the cluster is unreachable it rejects with a retriable
   * `KafkaError` (`BROKER_UNAVAILABLE`/`TIMEOUT`) but keeps reconnecting in the background until `close()`; poll
   * `isConnected()` (e.g. from /readyz). Calling it again while connected or connecting is a no-op/joins the attempt.
   */
  connect(): Promise<void>;
  publish(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** True once connected and not closed. Broker outages after connecting do not flip it (librdkafka reconnects). */
  isConnected(): boolean;
  /** While not connected: why the last attempt failed (AUTHENTICATION_FAILED for refused credentials), if known. */
  connectionProblem(): KafkaError | undefined;
  /** Waits for every queued record to be acknowledged or failed, up to `timeoutMs` (default 10_000). */
  flush(timeoutMs?: number): Promise<void>;
  /** Brokers in the cluster, from one metadata request (no topics asked for). Rejects like `publish` when unreachable. */
  brokerCount(timeoutMs?: number): Promise<number>;
  /**
   * Flushes for up to `timeoutMs` (default 10_000), then disconnects. Records still unacknowledged then (Kafka
   * unreachable) fail their `publish()` at once with a retriable `CLOSED`, and the client is left to the process's
   * exit instead of being disconnected (a disconnect would first wait on them again). Idempotent; later `publish()`
   * calls reject with `CLOSED`.
   */
  close(timeoutMs?: number): Promise<void>;
  /**
   * True while a native call of this client runs on libuv's thread pool (flush, disconnect, a metadata request): `process.exit` would
   * wait for it, since Node's exit joins that pool.
   */
  nativeCallRunning(): boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------------------------

export interface KafkaAdminOptions extends KafkaConnectionOptions {
  /** Default timeout for admin requests. Default 10_000. */
  requestTimeoutMs?: number;
  /** Timeout of `ping()`. Default 2_000. */
  pingTimeoutMs?: number;
}

export interface CreateTopicSpec {
  topic: string;
  /** -1 or undefined = broker default (`num.partitions`). */
  partitions?: number;
  /** -1 or undefined = broker default (`default.replication.factor`). */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ "retention.ms": "86400000", "max.message.bytes": "2000000" }`. */
  config?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** Earliest offset still in the log. */
  low: string;
  /** High watermark: the offset the next produced record will get. */
  high: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * An offset position. Everywhere in this package `offset` follows the Kafka commit convention: it is the NEXT offset to
 * read, i.e. the last processed offset + 1.
 */
export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  /** "exists" also when another client created the topic concurrently. */
  createTopic(spec: CreateTopicSpec): Promise<"created" | "exists">;
  listTopics(): Promise<string[]>;
  /** Answers from a cache of known topics; a miss refreshes the cache once before answering false. */
  topicExists(topic: string): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Low/high watermarks per partition (lag = high - committed). */
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /**
   * Committed offsets of a consumer group (next offset to read, see `TopicPartitionOffset`); partitions without a
   * commit are reported with offset "-1".
   */
  fetchCommittedOffsets(groupId: string, topics?: readonly string[]): Promise<TopicPartitionOffset[]>;
  /** Cheap metadata round-trip with a short timeout, for /readyz. Never throws. */
  ping(): Promise<boolean>;
  /**
   * Waits up to `timeoutMs` (default: the request timeout + 1 s) for running requests, then disconnects. When one is
   * still running it resolves and stays connected until that request ends (`nativeCallRunning()` true), then
   * disconnects: disconnecting meanwhile would block the event loop, and an idle client would keep the process alive.
   */
  close(timeoutMs?: number): Promise<void>;
  /**
   * True while a request of this client still runs on libuv's thread pool, also after its promise gave up at a
   * timeout or `close()` resolved: `process.exit` would wait for it, since Node's exit joins that pool.
   */
  nativeCallRunning(): boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Consumer
// ---------------------------------------------------------------------------------------------------------------

export interface IncomingRecord {
  topic: string;
  partition: number;
  /** This record's offset. To commit "processed up to here", commit `offset + 1` (see `nextOffset`). */
  offset: string;
  key?: Buffer;
  value: Buffer | null;
  /** Header values as received (Buffers); for repeated header keys the last value wins. */
  headers: Record<string, Buffer | string>;
  /** Record timestamp, milliseconds since the epoch. */
  timestamp: number;
}

export interface IncomingBatch {
  topic: string;
  partition: number;
  /** Partition high watermark when the batch was fetched (lag ~ highWatermark - last offset - 1). */
  highWatermark: string;
  messages: IncomingRecord[];
}

export interface BatchHandler {
  /**
   * Called with records of ONE partition, in order; never concurrently for the same partition. Returning does NOT
   * commit. Throwing makes the consumer seek back to the first record of this batch, so the batch is delivered again
   * (immediately: pause the partition or back off before throwing when the failure is persistent).
   */
  eachBatch(batch: IncomingBatch): Promise<void>;
}

export interface RebalanceListener {
  /** Partitions newly assigned to this member (incremental with cooperative-sticky). */
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Partitions about to be taken away. Awaited before they are released (bounded by the rebalance timeout), so this
   * is the place to flush buffered work and `commit()` it; records of these partitions that are not committed will be
   * delivered to their next owner again. `lost` is true when the partitions were already lost (session timeout) and
   * committing is pointless.
   */
  onRevoked?(partitions: TopicPartition[], lost: boolean): void | Promise<void>;
}

export interface BatchConsumerOptions extends KafkaConnectionOptions, RebalanceListener {
  groupId: string;
  /** Where a group without a committed offset starts: true = earliest (default), false = latest. */
  fromBeginning?: boolean;
  /** Default 30_000. */
  sessionTimeoutMs?: number;
  /** Maximum time one `eachBatch` (and one `onRevoked`) may take before the member is kicked out. Default 300_000. */
  maxPollIntervalMs?: number;
  /** Maximum records per `eachBatch` call (`js.consumer.max.batch.size`). Default 500. */
  maxBatchSize?: number;
  /**
   * How often librdkafka refreshes metadata, which is also how quickly a regex subscription notices new topics
   * (`topic.metadata.refresh.interval.ms`). Default 10_000.
   */
  topicRefreshIntervalMs?: number;
  /** Bound for `commit()` and `committed()` round-trips to the group coordinator. Default 10_000. */
  commitTimeoutMs?: number;
  /** How long `connect()` waits for the cluster before rejecting with a retriable `BROKER_UNAVAILABLE`. Default 10_000. */
  connectTimeoutMs?: number;
  /** How many partitions are processed concurrently by `eachBatch`. Default 1. */
  partitionsConsumedConcurrently?: number;
}

/** A topic name, or a pattern that must start with `^` (librdkafka regex subscription; no flags). */
export type TopicSelector = string | RegExp;

/**
 * Port: a group consumer for at-least-once processing. Offsets are committed ONLY by `commit()`; nothing is
 * auto-committed, not even on rebalance or disconnect.
 */
export interface BatchConsumer {
  connect(): Promise<void>;
  /**
   * Replaces the whole subscription. Call again at runtime with a changed set (e.g. a new topic) to re-subscribe;
   * a regex (`/^prefix.*_logs$/`) picks up topics created later on its own within `topicRefreshIntervalMs`.
   */
  subscribe(topics: readonly TopicSelector[]): Promise<void>;
  /**
   * Fetches the cluster's full topic list now, so a regex subscription sees a just-created topic at once instead
   * of at the next periodic refresh (`topicRefreshIntervalMs`). Use it when a new topic is announced.
   */
  refreshTopics(): Promise<void>;
  /** Starts the fetch loop and returns at once; `eachBatch` failures are retried as described on `BatchHandler`. */
  run(handler: BatchHandler): Promise<void>;
  /**
   * Commits `offset` = NEXT offset to read (last processed + 1) for each partition, resolving only once the group
   * coordinator stored them (read back); rejects with a retriable `COMMIT_FAILED` when it did not (e.g. the
   * partition moved to another member in a rebalance).
   */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Committed offsets of this group for the given (default: assigned) partitions; "-1" when none. */
  committed(partitions?: readonly TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /** Stops fetching these partitions (no effect on partitions not assigned). */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Currently assigned partitions (empty until the group is joined). */
  assignment(): TopicPartition[];
  /**
   * Leaves the group and releases the native handle. Safe to call more than once or concurrently (one real
   * disconnect); must not be awaited from inside `eachBatch`/`onRevoked` (rejects with `INVALID_STATE` there).
   */
  disconnect(): Promise<void>;
}
