import type { Logger } from "@barito-flow/logger";
import type { Timber, TimberCollection, TimberContext } from "@barito-flow/proto";
import { type FieldViolation, ProduceError } from "./produce-error.js";
import type { LogPublisher, RateLimiter } from "./ports.js";
import { type BuiltRecord, buildRecords, type MessageFormat } from "./records.js";
import type { TopicProvisioner } from "./topic-provisioner.js";
import { topicFor, type ValidationLimits, validateCollection, validateTimber } from "./validate.js";

export interface ProducerSettings extends ValidationLimits {
  messageFormat: MessageFormat;
  /** Largest Kafka record accepted (BARITO_PRODUCER_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
}

/** Hooks for metrics; every one optional so tests and other embedders can ignore them. */
export interface ProduceObserver {
  rateLimited?(topic: string, logs: number, bytes: number): void;
  stored?(topic: string, logs: number, bytes: number, seconds: number): void;
  failed?(topic: string, errorType: "create_topic" | "send_log", logs: number): void;
}

export interface ProducerServiceOptions {
  publisher: LogPublisher;
  topics: TopicProvisioner;
  rateLimiter: RateLimiter;
  settings: ProducerSettings;
  logger: Logger;
  observer?: ProduceObserver;
  clock?: () => Date;
}

export interface RequestMeta {
  /** Carried into each record's headers so the consumer can turn client retries into no-ops. */
  idempotencyKey?: string;
}

export interface ProducerService {
  produce(timber: Timber, meta?: RequestMeta): Promise<{ topic: string }>;
  produceBatch(collection: TimberCollection, meta?: RequestMeta): Promise<{ topic: string }>;
}

// When Kafka is down, tell clients to come back after this long rather than hammering a dead cluster.
const kafkaRetryAfterMs = 5_000;

/**
 * The produce path shared by gRPC, Connect, gRPC-Web and REST: validate, rate-limit, ensure the topic, write, and
 * answer only once Kafka acknowledged every record.
 */
export function createProducerService(options: ProducerServiceOptions): ProducerService {
  const { publisher, topics, rateLimiter, settings, logger, observer = {} } = options;
  const now = options.clock ?? (() => new Date());

  // disable_app_tps switches to a bucket shared by the app group. The context carries no group id; a producer
  // deployment serves one app group (one topic prefix per cluster), so the prefix names the group. The Go
  // original used one literal key for every group reaching the producer.
  function rateLimitKey(topic: string, context: TimberContext): { key: string; tps: number } {
    return context.disableAppTps
      ? { key: `app_group:${settings.topicPrefix}`, tps: context.appGroupMaxTps }
      : { key: topic, tps: context.appMaxTps };
  }

  async function write(
    items: readonly Timber[],
    context: TimberContext,
    meta: RequestMeta,
    fieldOf: (index: number) => string,
  ): Promise<{ topic: string }> {
    const topic = topicFor(context.kafkaTopic, settings);
    const receivedAt = now();
    const built = buildRecords(items, context, settings.messageFormat, receivedAt, meta.idempotencyKey, fieldOf);
    checkRecordSizes(built, settings.maxMessageBytes);
    const bytes = built.reduce((sum, { record }) => sum + record.value.byteLength, 0);

    if (!publisher.isConnected()) {
      throw new ProduceError("KAFKA_UNAVAILABLE", "Kafka is not reachable; retry later", {
        retryAfterMs: kafkaRetryAfterMs,
      });
    }
    const { key, tps } = rateLimitKey(topic, context);
    const decision = await rateLimiter.take(key, items.length, tps);
    if (!decision.allowed) {
      observer.rateLimited?.(topic, items.length, bytes);
      // A batch bigger than the whole window is admitted by no window: retrying it would loop forever.
      if (items.length > decision.limit) {
        throw ProduceError.invalid([
          {
            field: "items",
            reason: `${items.length} logs exceed the ${decision.limit} logs one rate-limit window admits (${tps} logs/s × BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL); send smaller batches`,
          },
        ]);
      }
      throw new ProduceError(
        "RATE_LIMITED",
        `rate limit of ${tps} logs/s exceeded for ${context.disableAppTps ? "the app group" : `topic ${topic}`}`,
        {
          retryAfterMs: Math.max(1, decision.retryAfterMs),
        },
      );
    }

    try {
      await topics.ensure(topic, context.kafkaPartition, context.kafkaReplicationFactor);
    } catch (err) {
      observer.failed?.(topic, "create_topic", items.length);
      // validate.ts refuses what it can know; Kafka's own refusal of a size (brokers gone since the last probe) is
      // just as final.
      const refused = refusedTopicSetting(err);
      if (refused !== undefined) throw ProduceError.invalid([refused]);
      logger.warn("topic creation failed", { topic, err });
      throw new ProduceError("KAFKA_UNAVAILABLE", `could not create topic ${topic}; retry later`, {
        retryAfterMs: kafkaRetryAfterMs,
        cause: err,
      });
    }

    const started = performance.now();
    try {
      await publisher.publish(
        topic,
        built.map(({ record }) => record),
      );
    } catch (err) {
      observer.failed?.(topic, "send_log", items.length);
      throw kafkaFailure(err, topic, built.length, logger);
    }
    observer.stored?.(topic, items.length, bytes, (performance.now() - started) / 1000);
    return { topic };
  }

  return {
    async produce(timber, meta = {}) {
      const context = validateTimber(timber, settings);
      return write([timber], context, meta, () => "content");
    },
    async produceBatch(collection, meta = {}) {
      const context = validateCollection(collection, settings);
      return write(collection.items, context, meta, (index) => `items[${index}]`);
    },
  };
}

// librdkafka's INVALID_PARTITIONS and INVALID_REPLICATION_FACTOR (Kafka protocol error codes).
const refusedTopicFields = new Map([
  [37, "context.kafka_partition"],
  [38, "context.kafka_replication_factor"],
]);

function refusedTopicSetting(err: unknown): FieldViolation | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const field = refusedTopicFields.get((err as { librdkafkaCode?: unknown }).librdkafkaCode as number);
  const message = (err as { message?: unknown }).message;
  return field === undefined
    ? undefined
    : { field, reason: `Kafka refused to create the topic: ${typeof message === "string" ? message : "invalid"}` };
}

function checkRecordSizes(built: readonly BuiltRecord[], maxMessageBytes: number): void {
  const oversized = built
    .filter(({ record }) => record.value.byteLength > maxMessageBytes)
    .slice(0, 20)
    .map(({ record, field }) => ({
      field,
      reason: `encoded record is ${record.value.byteLength} bytes; the limit is ${maxMessageBytes} (BARITO_PRODUCER_MAX_MESSAGE_BYTES)`,
    }));
  if (oversized.length > 0) {
    throw new ProduceError("PAYLOAD_TOO_LARGE", `${oversized[0]?.field}: record too large`, { details: oversized });
  }
}

function kafkaFailure(err: unknown, topic: string, records: number, logger: Logger): ProduceError {
  const code =
    typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "UNKNOWN";
  if (code === "MESSAGE_TOO_LARGE") {
    return new ProduceError("PAYLOAD_TOO_LARGE", "Kafka rejected a record as too large", { cause: err });
  }
  logger.warn("writing to Kafka failed", { topic, records, kafkaCode: code, err });
  // Some records of a multi-record write may already be stored: a retry is safe only with an Idempotency-Key,
  // which lets the consumer drop the duplicates.
  return records > 1
    ? new ProduceError(
        "PARTIALLY_WRITTEN",
        "Kafka did not acknowledge every log of the batch; retry (with the same Idempotency-Key to avoid duplicates)",
        {
          retryAfterMs: kafkaRetryAfterMs,
          cause: err,
        },
      )
    : new ProduceError("KAFKA_UNAVAILABLE", "Kafka did not acknowledge the log; retry later", {
        retryAfterMs: kafkaRetryAfterMs,
        cause: err,
      });
}
