import { noopLogger } from "@barito-flow/logger";
import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { invalidArgument, KafkaError } from "./errors.js";
import { loadKafkaJS, type NativeKafka, nativeKafkaFactory } from "./native-client.js";
import { assertTopicName } from "./outgoing-record.js";
import { settleWithin } from "./settle-within.js";
import { toKafkaError } from "./to-kafka-error.js";
import type {
  CreateTopicSpec,
  KafkaAdmin,
  KafkaAdminOptions,
  LibrdkafkaProperties,
  PartitionOffsets,
  TopicPartitionOffset,
} from "./types.js";

type NativeAdmin = ReturnType<NativeKafka["admin"]>;

/** -1 / undefined = broker default; otherwise a positive integer. */
function topicSizeOption(field: string, value: unknown): number {
  if (value === undefined || value === -1) return -1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw invalidArgument(field, `must be -1 (broker default) or a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function topicConfigEntries(config: unknown): Array<{ name: string; value: string }> {
  if (config === undefined) return [];
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw invalidArgument("config", "must be an object of string values");
  }
  return Object.entries(config).map(([name, value]) => {
    if (typeof value !== "string") throw invalidArgument(`config.${name}`, "must be a string");
    return { name, value };
  });
}

/** Rejects with TIMEOUT when `promise` has not settled after `ms`; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return settleWithin(
    promise,
    ms,
    () => new KafkaError("TIMEOUT", `${what} timed out after ${ms} ms`, { retriable: true }),
  );
}

/**
 * Creates the Kafka adapter of the `KafkaAdmin` port. Options are validated here (throws `KafkaError` INVALID_CONFIG);
 * librdkafka is loaded by `connect()`.
 */
export function createKafkaAdmin(options: KafkaAdminOptions): KafkaAdmin {
  const connection = buildConnectionConfig(options);
  const requestTimeoutMs = integerOption("requestTimeoutMs", options.requestTimeoutMs, 10_000, 100, 600_000);
  const pingTimeoutMs = integerOption("pingTimeoutMs", options.pingTimeoutMs, 2_000, 100, 600_000);
  const properties: LibrdkafkaProperties = { ...connection.properties, ...options.librdkafka };
  const logger = (options.logger ?? noopLogger).child({ component: "kafka-admin" });
  const newNativeKafka = nativeKafkaFactory(connection, logger);

  let admin: NativeAdmin | undefined;
  let connecting: Promise<NativeAdmin> | undefined;
  let closing: Promise<void> | undefined;
  const knownTopics = new Set<string>();

  function connected(): NativeAdmin {
    if (closing !== undefined) throw new KafkaError("CLOSED", "admin client is closed", { retriable: false });
    if (admin === undefined) {
      throw new KafkaError("INVALID_STATE", "admin client is not connected: call connect() first", {
        retriable: false,
      });
    }
    return admin;
  }

  let nativeCalls = 0;
  /** Resolved when the last running request's native work ends. */
  let idle: PromiseWithResolvers<void> | undefined;
  /** Counts a request until its native work ends, which can be after our timeout gave up on it. */
  function native<T>(work: Promise<T>): Promise<T> {
    nativeCalls++;
    const done = () => {
      nativeCalls--;
      if (nativeCalls === 0) {
        idle?.resolve();
        idle = undefined;
      }
    };
    work.then(done, done);
    return work;
  }

  async function call<T>(what: string, run: (client: NativeAdmin) => Promise<T>, timeoutMs = requestTimeoutMs) {
    const client = connected();
    try {
      // The native call has its own timeout; ours is a backstop in case a callback never fires.
      return await withTimeout(native(run(client)), timeoutMs + 1_000, what);
    } catch (error) {
      throw toKafkaError(error, what);
    }
  }

  async function refreshTopics(timeoutMs = requestTimeoutMs): Promise<string[]> {
    const topics = await call("list topics", (client) => client.listTopics({ timeout: timeoutMs }), timeoutMs);
    knownTopics.clear();
    for (const topic of topics) knownTopics.add(topic);
    return topics;
  }

  /**
   * The controller acknowledges a creation before every partition has a leader; until then produce requests and
   * offset lookups fail. Waiting here (bounded, best effort) makes "created" mean "usable".
   */
  async function waitForLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + requestTimeoutMs;
    while (Date.now() < deadline) {
      try {
        const [metadata] = await call("describe topic", (client) =>
          client.fetchTopicMetadata({ topics: [topic], timeout: Math.max(100, deadline - Date.now()) }),
        );
        const partitions = metadata?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0)) return;
      } catch {
        // Not visible yet on the broker we asked: try again until the deadline.
      }
      await new Promise((resolve) => setTimeout(resolve, 100).unref());
    }
    logger.warn("kafka topic has partitions without a leader", { topic, waitedMs: requestTimeoutMs });
  }

  const api: KafkaAdmin = {
    async connect() {
      if (closing !== undefined) throw new KafkaError("CLOSED", "admin client is closed", { retriable: false });
      if (admin !== undefined) return;
      connecting ??= (async () => {
        const kafkaJS = await loadKafkaJS();
        const candidate = (await newNativeKafka(kafkaJS)).admin(properties);
        try {
          await candidate.connect();
        } catch (error) {
          await candidate.disconnect().catch(() => {});
          throw toKafkaError(error, "connect Kafka admin");
        }
        return candidate;
      })().finally(() => {
        connecting = undefined;
      });
      const candidate = await connecting;
      if (closing !== undefined) {
        await candidate.disconnect().catch(() => {});
        throw new KafkaError("CLOSED", "admin client was closed while connecting", { retriable: false });
      }
      admin = candidate;
    },

    async createTopic(spec: CreateTopicSpec) {
      if (typeof spec !== "object" || spec === null) throw invalidArgument("spec", "must be an object");
      assertTopicName(spec.topic, "topic");
      const numPartitions = topicSizeOption("partitions", spec.partitions);
      const replicationFactor = topicSizeOption("replicationFactor", spec.replicationFactor);
      const configEntries = topicConfigEntries(spec.config);
      let outcome: "created" | "exists";
      try {
        const created = await call("create topic", (client) =>
          client.createTopics({
            timeout: requestTimeoutMs,
            topics: [{ topic: spec.topic, numPartitions, replicationFactor, configEntries }],
          }),
        );
        outcome = created ? "created" : "exists";
      } catch (error) {
        // A concurrent creator won the race; the native layer maps most of these to `false`, this catches the rest.
        if (!(error instanceof KafkaError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
        outcome = "exists";
      }
      knownTopics.add(spec.topic);
      if (outcome === "created") {
        logger.info("kafka topic created", { topic: spec.topic, numPartitions, replicationFactor });
      }
      await waitForLeaders(spec.topic);
      return outcome;
    },

    listTopics() {
      return refreshTopics();
    },

    async topicExists(topic: string) {
      assertTopicName(topic, "topic");
      if (knownTopics.has(topic)) return true;
      await refreshTopics();
      return knownTopics.has(topic);
    },

    async deleteTopics(topics: readonly string[]) {
      if (!Array.isArray(topics)) throw invalidArgument("topics", "must be an array of topic names");
      for (const [index, topic] of topics.entries()) assertTopicName(topic, `topics[${index}]`);
      if (topics.length === 0) return;
      await call("delete topics", (client) => client.deleteTopics({ topics, timeout: requestTimeoutMs }));
      for (const topic of topics) knownTopics.delete(topic);
    },

    async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
      assertTopicName(topic, "topic");
      // A partition whose new leader has not loaded its log yet answers -1; that is transient, so ask again
      // (bounded) rather than hand out a watermark no lag computation can use.
      const deadline = Date.now() + requestTimeoutMs;
      for (;;) {
        const offsets = await call("fetch topic offsets", (client) =>
          // biome-ignore lint/suspicious/noExplicitAny: the typings demand an enum value the default already is.
          client.fetchTopicOffsets(topic, { timeout: requestTimeoutMs } as any),
        );
        const result = offsets
          .map(({ partition, low, high }) => ({ partition, low: String(low), high: String(high) }))
          .sort((a, b) => a.partition - b.partition);
        if (result.every(({ low, high }) => Number(low) >= 0 && Number(high) >= 0) || Date.now() > deadline) {
          return result;
        }
        await new Promise((resolve) => setTimeout(resolve, 100).unref());
      }
    },

    async fetchCommittedOffsets(groupId: string, topics?: readonly string[]): Promise<TopicPartitionOffset[]> {
      if (typeof groupId !== "string" || groupId === "") throw invalidArgument("groupId", "must be a non-empty string");
      if (topics !== undefined) {
        if (!Array.isArray(topics)) throw invalidArgument("topics", "must be an array of topic names");
        for (const [index, topic] of topics.entries()) assertTopicName(topic, `topics[${index}]`);
      }
      // Asking by explicit partitions (not by topic name) makes the broker answer for uncommitted partitions too;
      // by name librdkafka fetches the group's whole commit list and partitions without a commit are missing.
      const wanted =
        topics === undefined
          ? undefined
          : await Promise.all(
              topics.map(async (topic) => ({
                topic,
                partitions: (await api.fetchTopicOffsets(topic)).map(({ partition }) => partition),
              })),
            );
      const result = await call("fetch committed offsets", (client) =>
        client.fetchOffsets({
          groupId,
          ...(wanted === undefined ? {} : { topics: wanted }),
          timeout: requestTimeoutMs,
        }),
      );
      return result.flatMap(({ topic, partitions }) =>
        partitions
          .map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) < 0 ? "-1" : String(offset) }))
          .sort((a, b) => a.partition - b.partition),
      );
    },

    async ping() {
      if (admin === undefined || closing !== undefined) return false;
      try {
        await refreshTopics(pingTimeoutMs);
        return true;
      } catch (error) {
        logger.debug("kafka ping failed", { err: toKafkaError(error, "ping") });
        return false;
      }
    },

    nativeCallRunning() {
      return nativeCalls > 0;
    },

    close(timeoutMs = requestTimeoutMs + 1_000) {
      closing ??= (async () => {
        await connecting?.catch(() => {});
        const current = admin;
        admin = undefined;
        if (current === undefined) return;
        const disconnect = () =>
          native(current.disconnect()).then(
            () => logger.info("kafka admin closed"),
            (error: unknown) =>
              logger.warn("kafka admin disconnect failed", { err: toKafkaError(error, "disconnect") }),
          );
        if (nativeCalls === 0) return disconnect();
        // The native disconnect runs on the JavaScript thread and takes a lock that every running request holds
        // until its own timeout: called now, it would freeze the event loop (and every deadline) for that long.
        idle ??= Promise.withResolvers<void>();
        // `disconnect` never rejects: a rejection here is the wait running out.
        const inTime = await settleWithin(idle.promise.then(disconnect), timeoutMs, () => undefined).then(
          () => true,
          () => false,
        );
        if (!inTime) {
          // Left connected until then, not for good: an idle client would keep the process alive.
          logger.warn("kafka admin disconnects once its running request ends", { waitedMs: timeoutMs });
        }
      })();
      return closing;
    },
  };
  return api;
}
