import { AsyncLocalStorage } from "node:async_hooks";
import { type Logger, noopLogger } from "@barito-flow/logger";
import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { invalidArgument, invalidConfig, KafkaError } from "./errors.js";
import {
  chooseClientPath,
  connectMetadataTimeoutProperty,
  type NativeConsumer,
  requestAllTopicsMetadata,
  useConsumePath,
} from "./client-internals.js";
import { loadKafkaJS, type NativeKafka, nativeKafkaFactory } from "./native-client.js";
import { assertTopicName } from "./outgoing-record.js";
import { librdkafkaCodes, toKafkaError } from "./to-kafka-error.js";
import type {
  BatchConsumer,
  BatchConsumerOptions,
  BatchHandler,
  IncomingBatch,
  IncomingRecord,
  LibrdkafkaProperties,
  TopicPartition,
  TopicPartitionOffset,
  TopicSelector,
} from "./types.js";

/** The subset of a native batch message this adapter reads. */
interface NativeBatchMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

const offsetPattern = /^(0|[1-9]\d{0,18})$/;
const noHeaders: Record<string, Buffer | string> = Object.freeze({}) as Record<string, Buffer | string>;

/** Converts a fetched native message; headers keep the last value of a repeated key. */
export function toIncomingRecord(topic: string, partition: number, message: NativeBatchMessage): IncomingRecord {
  // Runs for every record: no entries array, and records without headers share one frozen empty object.
  let headers: Record<string, Buffer | string> = noHeaders;
  const native = message.headers;
  if (native !== undefined) {
    for (const name in native) {
      if (!Object.hasOwn(native, name)) continue;
      const value = native[name];
      const last = Array.isArray(value) ? value[value.length - 1] : value;
      if (last === undefined) continue;
      if (headers === noHeaders) headers = {};
      headers[name] = last;
    }
  }
  const timestamp = Number(message.timestamp);
  const record: IncomingRecord = {
    topic,
    partition,
    offset: message.offset,
    value: message.value,
    headers,
    timestamp: Number.isFinite(timestamp) ? timestamp : 0,
  };
  if (message.key !== null && message.key !== undefined) {
    record.key = Buffer.isBuffer(message.key) ? message.key : Buffer.from(message.key);
  }
  return record;
}

/** The offset to commit after processing `record`: Kafka commits name the NEXT offset to read. */
export function nextOffset(record: { offset: string }): string {
  return (BigInt(record.offset) + 1n).toString();
}

export function validateTopicSelectors(topics: readonly TopicSelector[]): Array<string | RegExp> {
  if (!Array.isArray(topics) || topics.length === 0) {
    throw invalidArgument("topics", "must be a non-empty array of topic names or ^-anchored RegExps");
  }
  return topics.map((topic, index) => {
    const field = `topics[${index}]`;
    if (topic instanceof RegExp) {
      if (!topic.source.startsWith("^")) throw invalidArgument(field, "a topic pattern must start with ^");
      if (topic.flags !== "") throw invalidArgument(field, "a topic pattern cannot have flags");
      return topic;
    }
    assertTopicName(topic, field);
    return topic;
  });
}

export function validateOffsets(offsets: readonly TopicPartitionOffset[]): TopicPartitionOffset[] {
  if (!Array.isArray(offsets)) throw invalidArgument("offsets", "must be an array");
  return offsets.map((entry, index) => {
    const field = `offsets[${index}]`;
    if (typeof entry !== "object" || entry === null) throw invalidArgument(field, "must be an object");
    assertTopicName(entry.topic, `${field}.topic`);
    if (!Number.isInteger(entry.partition) || entry.partition < 0) {
      throw invalidArgument(`${field}.partition`, "must be a non-negative integer");
    }
    const offset = String(entry.offset);
    if (!offsetPattern.test(offset)) {
      throw invalidArgument(`${field}.offset`, "must be a non-negative integer string (the next offset to read)");
    }
    return { topic: entry.topic, partition: entry.partition, offset };
  });
}

function consumerProperties(options: BatchConsumerOptions): LibrdkafkaProperties {
  return {
    // Reconnect promptly after a broker outage (librdkafka's default backoff grows to 10 s).
    "reconnect.backoff.max.ms": 1_000,
    "js.consumer.max.batch.size": integerOption("maxBatchSize", options.maxBatchSize, 500, 1, 1_000_000),
    // The client sizes its message cache to this much consumption per worker. A handler that hands records off and
    // returns at once looks infinitely fast, so at its default (1500 ms) one fetch grew to tens of thousands of
    // messages converted to JavaScript in one go, blocking the event loop for hundreds of milliseconds while the I/O
    // the handler had started waited. Still 68,000 messages at 100 ms: the consumer's event loop stalled for up to
    // 81 ms (p99 62 ms). At 10 ms: at most 29 ms (p99 22 ms), for the same CPU per record.
    "js.consumer.max.cache.size.per.worker.ms": 10,
    "topic.metadata.refresh.interval.ms": integerOption(
      "topicRefreshIntervalMs",
      options.topicRefreshIntervalMs,
      10_000,
      100,
      3_600_000,
    ),
  };
}

function groupedByTopic(partitions: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

async function notify(logger: Logger, what: string, callback: () => void | Promise<void>): Promise<void> {
  try {
    await callback();
  } catch (error) {
    logger.error(`${what} callback failed`, { err: error });
  }
}

/**
 * Creates the Kafka adapter of the `BatchConsumer` port: classic consumer group with the cooperative-sticky assignor,
 * auto-commit off (offsets are committed only by `commit()`), and a guarded single `disconnect()`.
 */
export function createBatchConsumer(options: BatchConsumerOptions): BatchConsumer {
  const connection = buildConnectionConfig(options);
  if (typeof options.groupId !== "string" || options.groupId.trim() === "") {
    throw invalidConfig("groupId", "must be a non-empty string");
  }
  if (options.fromBeginning !== undefined && typeof options.fromBeginning !== "boolean") {
    throw invalidConfig("fromBeginning", "must be a boolean");
  }
  const sessionTimeoutMs = integerOption("sessionTimeoutMs", options.sessionTimeoutMs, 30_000, 1_000, 3_600_000);
  const maxPollIntervalMs = integerOption("maxPollIntervalMs", options.maxPollIntervalMs, 300_000, 1_000, 86_400_000);
  if (maxPollIntervalMs < sessionTimeoutMs) {
    throw invalidConfig("maxPollIntervalMs", "must be at least sessionTimeoutMs");
  }
  const concurrency = integerOption(
    "partitionsConsumedConcurrently",
    options.partitionsConsumedConcurrently,
    1,
    1,
    1_000,
  );
  const commitTimeoutMs = integerOption("commitTimeoutMs", options.commitTimeoutMs, 10_000, 100, 600_000);
  const connectTimeoutMs = integerOption("connectTimeoutMs", options.connectTimeoutMs, 10_000, 100, 600_000);
  const logger = (options.logger ?? noopLogger).child({ component: "kafka-consumer", groupId: options.groupId });
  const newNativeKafka = nativeKafkaFactory(connection, logger);
  const insideCallback = new AsyncLocalStorage<true>();

  const rebalanceCallback = async (
    error: { code?: number },
    assignment: TopicPartition[],
    assignmentFns?: { assignmentLost?: () => boolean },
  ): Promise<void> => {
    const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }));
    if (error.code === librdkafkaCodes.ERR__ASSIGN_PARTITIONS) {
      logger.info("kafka partitions assigned", { partitions });
      if (options.onAssigned) {
        const onAssigned = options.onAssigned;
        await insideCallback.run(true, () => notify(logger, "onAssigned", () => onAssigned(partitions)));
      }
    } else if (error.code === librdkafkaCodes.ERR__REVOKE_PARTITIONS) {
      const lost = assignmentFns?.assignmentLost?.() ?? false;
      logger.info("kafka partitions revoked", { partitions, lost });
      if (options.onRevoked) {
        const onRevoked = options.onRevoked;
        await insideCallback.run(true, () => notify(logger, "onRevoked", () => onRevoked(partitions, lost)));
      }
    }
    // Returning nothing keeps librdkafka's assignment as is.
  };

  const properties: LibrdkafkaProperties = {
    ...connection.properties,
    ...consumerProperties(options),
    ...options.librdkafka,
  };

  let consumer: NativeConsumer | undefined;
  let connecting: Promise<void> | undefined;
  let disconnecting: Promise<void> | undefined;
  let running = false;

  function connected(what: string): NativeConsumer {
    if (disconnecting !== undefined)
      throw new KafkaError("CLOSED", `${what}: consumer is disconnected`, { retriable: false });
    if (consumer === undefined) {
      throw new KafkaError("INVALID_STATE", `${what}: consumer is not connected; call connect() first`, {
        retriable: false,
      });
    }
    return consumer;
  }

  function assignedOnly(partitions: readonly TopicPartition[], native: NativeConsumer): TopicPartition[] {
    const assigned = new Set(native.assignment().map(({ topic, partition }) => `${topic}\u0000${partition}`));
    return partitions.filter(({ topic, partition }) => assigned.has(`${topic}\u0000${partition}`));
  }

  return {
    connect() {
      if (disconnecting !== undefined) {
        return Promise.reject(new KafkaError("CLOSED", "consumer is disconnected", { retriable: false }));
      }
      if (consumer !== undefined) return Promise.resolve();
      connecting ??= (async () => {
        const kafkaJS = await loadKafkaJS();
        const path = await chooseClientPath(options.patchedBinding);
        const boundedConnect = await connectMetadataTimeoutProperty();
        const candidate = (await newNativeKafka(kafkaJS)).consumer({
          kafkaJS: {
            groupId: options.groupId,
            fromBeginning: options.fromBeginning ?? true,
            autoCommit: false,
            sessionTimeout: sessionTimeoutMs,
            rebalanceTimeout: maxPollIntervalMs,
            partitionAssigners: [kafkaJS.PartitionAssigners.cooperativeSticky],
          },
          ...properties,
          ...(boundedConnect === undefined ? {} : { [boundedConnect]: connectTimeoutMs }),
          rebalance_cb: rebalanceCallback,
        } as Parameters<NativeKafka["consumer"]>[0]);
        try {
          await candidate.connect();
        } catch (error) {
          await candidate.disconnect().catch(() => {});
          throw toKafkaError(error, "connect consumer to Kafka");
        }
        useConsumePath(candidate, path);
        consumer = candidate;
        logger.info("kafka consumer connected", { brokers: connection.kafkaJS.brokers, clientPath: path });
      })().finally(() => {
        connecting = undefined;
      });
      return connecting;
    },

    async subscribe(topics: readonly TopicSelector[]) {
      const selectors = validateTopicSelectors(topics);
      const native = connected("subscribe");
      try {
        await native.subscribe({ topics: selectors, replace: true });
      } catch (error) {
        throw toKafkaError(error, "subscribe");
      }
      logger.info("kafka consumer subscribed", { topics: selectors.map(String) });
    },

    async refreshTopics() {
      const native = connected("refreshTopics");
      try {
        await requestAllTopicsMetadata(native, commitTimeoutMs);
      } catch (error) {
        throw toKafkaError(error, "refresh topic metadata");
      }
    },

    async run(handler: BatchHandler) {
      if (typeof handler?.eachBatch !== "function") throw invalidArgument("handler.eachBatch", "must be a function");
      const native = connected("run");
      if (running) throw new KafkaError("INVALID_STATE", "run() was already called", { retriable: false });
      running = true;
      try {
        await native.run({
          partitionsConsumedConcurrently: concurrency,
          // Offsets are resolved below only after the handler succeeded; a throw leaves them unresolved, and the
          // client then seeks back to the batch's first record so the batch is fetched again.
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const incoming: IncomingBatch = {
              topic: batch.topic,
              partition: batch.partition,
              highWatermark: batch.highWatermark,
              messages: batch.messages.map((message) =>
                toIncomingRecord(batch.topic, batch.partition, message as NativeBatchMessage),
              ),
            };
            await insideCallback.run(true, () => handler.eachBatch(incoming));
            // Resolving even when a pause() made the batch stale: the handler accepted every record, so they must
            // not be fetched again on resume.
            payload.resolveOffset(batch.lastOffset());
          },
        });
      } catch (error) {
        running = false;
        throw toKafkaError(error, "run");
      }
    },

    async commit(offsets: readonly TopicPartitionOffset[]) {
      const valid = validateOffsets(offsets);
      if (valid.length === 0) return;
      const native = connected("commit");
      let stored: Array<{ topic: string; partition: number; offset: string }>;
      try {
        // The native commitOffsets only enqueues an asynchronous commit and never reports its outcome, so read the
        // offsets back: the coordinator answers requests of one connection in order, so this sees the commit.
        await native.commitOffsets(valid);
        stored = await native.committed(
          valid.map(({ topic, partition }) => ({ topic, partition })),
          commitTimeoutMs,
        );
      } catch (error) {
        throw toKafkaError(error, "commit offsets");
      }
      const missing = valid.filter(({ topic, partition, offset }) => {
        const found = stored.find((entry) => entry.topic === topic && entry.partition === partition);
        // A deleted topic or an unknown partition answers with no offset at all (null): not stored either.
        return found?.offset == null || BigInt(found.offset) < BigInt(offset);
      });
      if (missing.length > 0) {
        const list = missing.map(({ topic, partition, offset }) => `${topic}[${partition}]@${offset}`).join(", ");
        throw new KafkaError("COMMIT_FAILED", `commit offsets: the group coordinator did not store ${list}`, {
          retriable: true,
        });
      }
    },

    async committed(partitions?: readonly TopicPartition[]) {
      const native = connected("committed");
      if (partitions !== undefined && !Array.isArray(partitions)) {
        throw invalidArgument("partitions", "must be an array");
      }
      for (const [index, { topic }] of (partitions ?? []).entries())
        assertTopicName(topic, `partitions[${index}].topic`);
      try {
        const result = await native.committed(
          partitions?.map(({ topic, partition }) => ({ topic, partition })),
          commitTimeoutMs,
        );
        return result.map(({ topic, partition, offset }) => ({
          topic,
          partition,
          offset: Number(offset) < 0 ? "-1" : String(offset),
        }));
      } catch (error) {
        throw toKafkaError(error, "fetch committed offsets");
      }
    },

    pause(partitions: readonly TopicPartition[]) {
      const native = connected("pause");
      const owned = assignedOnly(partitions, native);
      if (owned.length > 0) native.pause(groupedByTopic(owned));
    },

    resume(partitions: readonly TopicPartition[]) {
      const native = connected("resume");
      const owned = assignedOnly(partitions, native);
      if (owned.length > 0) native.resume(groupedByTopic(owned));
    },

    assignment() {
      if (consumer === undefined || disconnecting !== undefined) return [];
      return consumer.assignment().map(({ topic, partition }) => ({ topic, partition }));
    },

    disconnect() {
      if (insideCallback.getStore() === true && disconnecting === undefined) {
        // Disconnecting waits for the running batch to finish, so doing it from inside that batch would deadlock.
        return Promise.reject(
          new KafkaError("INVALID_STATE", "disconnect() cannot be awaited inside eachBatch/onAssigned/onRevoked", {
            retriable: false,
          }),
        );
      }
      // One real disconnect per consumer: a second native disconnect can crash the process (P10).
      disconnecting ??= (async () => {
        await connecting?.catch(() => {});
        const current = consumer;
        consumer = undefined;
        if (current === undefined) return;
        try {
          await current.disconnect();
          logger.info("kafka consumer disconnected");
        } catch (error) {
          logger.warn("kafka consumer disconnect failed", { err: toKafkaError(error, "disconnect") });
        }
      })();
      return disconnecting;
    },
  };
}
