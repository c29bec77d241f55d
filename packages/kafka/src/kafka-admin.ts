import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { invalidArgument, KafkaError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { loadKafkaJS, newNativeKafka } from "./native-client.js";
import { assertTopicName } from "./outgoing-record.js";
import { toKafkaError } from "./to-kafka-error.js";
import type {
  CreateTopicSpec,
  KafkaAdmin,
  KafkaAdminOptions,
  LibrdkafkaProperties,
  PartitionOffsets,
  TopicPartitionOffset,
} from "./types.js";

type NativeAdmin = ReturnType<Awaited<ReturnType<typeof newNativeKafka>>["admin"]>;

function partitionsOption(field: string, value: number | undefined): number {
  if (value === undefined || value === -1) return -1;
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw invalidArgument(field, "must be a positive integer, or -1 / undefined for the broker default");
  }
  return value;
}

/** Creates the Kafka admin adapter. Validates options at once; librdkafka is loaded by `connect()`. */
export function createKafkaAdmin(options: KafkaAdminOptions): KafkaAdmin {
  const connection = buildConnectionConfig(options);
  const requestTimeoutMs = integerOption("requestTimeoutMs", options.requestTimeoutMs, 10_000, 100, 600_000);
  const pingTimeoutMs = integerOption("pingTimeoutMs", options.pingTimeoutMs, 2_000, 100, 600_000);
  const properties: LibrdkafkaProperties = { ...connection.properties, ...options.librdkafka };
  const logger = (options.logger ?? silentLogger).child({ component: "kafka-admin" });

  let admin: NativeAdmin | undefined;
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let knownTopics = new Set<string>();
  let refreshing: Promise<string[]> | undefined;

  function connected(): NativeAdmin {
    if (closing !== undefined) throw new KafkaError("CLOSED", "admin client is closed", { retriable: false });
    if (admin === undefined) {
      throw new KafkaError("INVALID_STATE", "admin client is not connected; call connect() first", {
        retriable: false,
      });
    }
    return admin;
  }

  async function call<T>(what: string, run: (client: NativeAdmin) => Promise<T>): Promise<T> {
    const client = connected();
    try {
      return await run(client);
    } catch (error) {
      throw toKafkaError(error, what);
    }
  }

  /** One metadata round-trip shared by concurrent callers; refreshes the topic cache. */
  function refreshTopics(timeoutMs = requestTimeoutMs): Promise<string[]> {
    refreshing ??= call("list topics", (client) => client.listTopics({ timeout: timeoutMs }))
      .then((topics) => {
        knownTopics = new Set(topics);
        return topics;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  return {
    connect() {
      if (closing !== undefined) {
        return Promise.reject(new KafkaError("CLOSED", "admin client is closed", { retriable: false }));
      }
      if (admin !== undefined) return Promise.resolve();
      connecting ??= (async () => {
        const kafkaJS = await loadKafkaJS();
        const candidate = newNativeKafka(kafkaJS, connection, logger).admin(properties);
        try {
          await candidate.connect();
        } catch (error) {
          await candidate.disconnect().catch(() => {});
          throw toKafkaError(error, "connect admin to Kafka");
        }
        admin = candidate;
      })().finally(() => {
        connecting = undefined;
      });
      return connecting;
    },

    async createTopic(spec: CreateTopicSpec) {
      if (typeof spec !== "object" || spec === null) throw invalidArgument("spec", "must be an object");
      assertTopicName(spec.topic, "topic");
      const numPartitions = partitionsOption("partitions", spec.partitions);
      const replicationFactor = partitionsOption("replicationFactor", spec.replicationFactor);
      const configEntries = Object.entries(spec.config ?? {}).map(([name, value]) => {
        if (typeof value !== "string") throw invalidArgument(`config.${name}`, "must be a string");
        return { name, value };
      });
      const created = await call(`create topic ${spec.topic}`, (client) =>
        client.createTopics({
          timeout: requestTimeoutMs,
          topics: [{ topic: spec.topic, numPartitions, replicationFactor, configEntries }],
        }),
      ).catch((error: KafkaError) => {
        // Two producers creating the same topic at once: the loser sees "already exists", which is success here.
        if (error.code === "TOPIC_ALREADY_EXISTS") return false;
        throw error;
      });
      knownTopics.add(spec.topic);
      if (created) logger.info("kafka topic created", { topic: spec.topic, numPartitions, replicationFactor });
      return created ? "created" : "exists";
    },

    listTopics() {
      return refreshTopics();
    },

    async topicExists(topic: string) {
      assertTopicName(topic);
      if (knownTopics.has(topic)) return true;
      const topics = await refreshTopics();
      return topics.includes(topic);
    },

    async deleteTopics(topics: string[]) {
      if (!Array.isArray(topics)) throw invalidArgument("topics", "must be an array of topic names");
      topics.forEach((topic, index) => assertTopicName(topic, `topics[${index}]`));
      if (topics.length === 0) return;
      await call("delete topics", (client) => client.deleteTopics({ topics, timeout: requestTimeoutMs }));
      for (const topic of topics) knownTopics.delete(topic);
    },

    async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
      assertTopicName(topic);
      const offsets = await call(`fetch offsets of ${topic}`, (client) =>
        client.fetchTopicOffsets(topic, { timeout: requestTimeoutMs, isolationLevel: 0 }),
      );
      return offsets
        .map(({ partition, low, high }) => ({ partition, low: String(low), high: String(high) }))
        .sort((a, b) => a.partition - b.partition);
    },

    async fetchCommittedOffsets(groupId: string, topics?: string[]): Promise<TopicPartitionOffset[]> {
      if (typeof groupId !== "string" || groupId === "") throw invalidArgument("groupId", "must be a non-empty string");
      topics?.forEach((topic, index) => assertTopicName(topic, `topics[${index}]`));
      const result = await call(`fetch committed offsets of group ${groupId}`, (client) =>
        client.fetchOffsets({ groupId, ...(topics ? { topics } : {}), timeout: requestTimeoutMs }),
      );
      return result
        .flatMap(({ topic, partitions }) =>
          partitions.map(({ partition, offset }) => ({ topic, partition, offset: String(offset) })),
        )
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    },

    async ping() {
      try {
        await refreshTopics(pingTimeoutMs);
        return true;
      } catch {
        return false;
      }
    },

    close() {
      closing ??= (async () => {
        await connecting?.catch(() => {});
        const current = admin;
        admin = undefined;
        await current?.disconnect().catch((error: unknown) => {
          logger.warn("kafka admin disconnect failed", { err: toKafkaError(error, "disconnect") });
        });
      })();
      return closing;
    },
  };
}
