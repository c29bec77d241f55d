import type { Logger } from "@barito-flow/logger";
import type { Timber, TimberCollection, TimberContext } from "@barito-flow/proto";
import { type FieldViolation, ProduceError } from "./produce-error.js";
import type { Reservation } from "./in-flight.js";
import type { Authenticator, LogPublisher, OutgoingRecord, RateLimiter } from "./ports.js";
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
  /** `appSecret`: the context's app_secret, for the counts pushed to BaritoMarket (BARITO_PUSH_METRIC_URL). */
  stored?(topic: string, logs: number, bytes: number, seconds: number, appSecret: string): void;
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
  /** BARITO_PRODUCER_AUTH=app-secret; absent: every request is taken, as in barito-flow. */
  authenticator?: Authenticator;
}

export interface RequestMeta {
  /** Carried into each record's headers so the consumer can turn client retries into no-ops. */
  idempotencyKey?: string;
  /** The request's share of the in-flight budget, grown here to cover its records (see in-flight.ts). */
  reservation?: Reservation;
  /** Who sent it: the verified client certificate's identity (mTLS, `callerIdentity` of @barito-flow/tls). */
  caller?: string;
  /** The caller's address, for the app-secret lockout. */
  source?: string;
}

/** What `send` needs of a request: its records and a few numbers, nothing of the parsed request. */
interface PendingBatch {
  topic: string;
  records: OutgoingRecord[] | undefined;
  recordCount: number;
  logs: number;
  bytes: number;
  key: string;
  tps: number;
  disableAppTps: boolean;
  appSecret: string;
  partitions: number;
  replicationFactor: number;
  caller: string | undefined;
}

function takeRecords(batch: PendingBatch): OutgoingRecord[] {
  const records = batch.records ?? [];
  batch.records = undefined;
  return records;
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

  /**
   * The synchronous part: encode and size the records, reserve them. Not async on purpose: an async function keeps its
   * parameters and locals alive across every await (checked on Node 24), and these are the parsed request and its
   * records, the bulk of a request's memory, which must not stay alive for the whole wait on Kafka.
   */
  function write(
    items: readonly Timber[],
    context: TimberContext,
    meta: RequestMeta,
    fieldOf: (index: number) => string,
  ): Promise<{ topic: string }> {
    const topic = topicFor(context.kafkaTopic, settings);
    const built = buildRecords(items, context, settings.messageFormat, now(), meta.idempotencyKey, fieldOf);
    checkRecordSizes(built, settings.maxMessageBytes);
    const records: OutgoingRecord[] = new Array(built.length);
    let bytes = 0;
    for (let i = 0; i < built.length; i++) {
      const record = (built[i] as BuiltRecord).record;
      records[i] = record;
      bytes += record.value.byteLength;
    }
    if (!publisher.isConnected()) {
      throw new ProduceError("KAFKA_UNAVAILABLE", "Kafka is not reachable; retry later", {
        retryAfterMs: kafkaRetryAfterMs,
      });
    }
    // The request's reservation covers its records too (a Timber record carries a copy of the context, so the
    // records can outweigh the body); librdkafka's queue is sized to the same budget.
    meta.reservation?.reserve(bytes, records.length);
    const done = meta.reservation?.hold();
    const { key, tps } = rateLimitKey(topic, context);
    return send({
      topic,
      records,
      recordCount: records.length,
      logs: items.length,
      bytes,
      key,
      tps,
      disableAppTps: context.disableAppTps,
      appSecret: context.appSecret,
      partitions: context.kafkaPartition,
      replicationFactor: context.kafkaReplicationFactor,
      caller: meta.caller,
    }).finally(done);
  }

  async function send(batch: PendingBatch): Promise<{ topic: string }> {
    const { topic, logs, bytes, tps } = batch;
    const { caller } = batch;
    const decision = await rateLimiter.take(batch.key, logs, tps, caller);
    if (!decision.allowed) {
      observer.rateLimited?.(topic, logs, bytes);
      // A batch bigger than the whole window is admitted by no window: retrying it would loop forever.
      if (logs > decision.limit) {
        throw ProduceError.invalid([
          {
            field: "items",
            reason: `${logs} logs exceed the ${decision.limit} logs one rate-limit window admits (${tps} logs/s × BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL); send smaller batches`,
          },
        ]);
      }
      throw new ProduceError(
        "RATE_LIMITED",
        `rate limit of ${tps} logs/s exceeded for ${batch.disableAppTps ? "the app group" : `topic ${topic}`}`,
        {
          retryAfterMs: Math.max(1, decision.retryAfterMs),
        },
      );
    }

    try {
      await topics.ensure(topic, batch.partitions, batch.replicationFactor);
    } catch (err) {
      observer.failed?.(topic, "create_topic", logs);
      // validate.ts refuses what it can know; Kafka's own refusal of a size (brokers gone since the last probe) is
      // just as final.
      const refused = refusedTopicSetting(err);
      if (refused !== undefined) throw ProduceError.invalid([refused]);
      logger.warn("topic creation failed", { topic, ...(caller === undefined ? {} : { caller }), err });
      throw new ProduceError("KAFKA_UNAVAILABLE", `could not create topic ${topic}; retry later`, {
        retryAfterMs: kafkaRetryAfterMs,
        cause: err,
      });
    }

    const started = performance.now();
    try {
      // Handed over, not kept: librdkafka copies the records, and this frame lives until Kafka answers.
      await publisher.publish(topic, takeRecords(batch));
    } catch (err) {
      observer.failed?.(topic, "send_log", logs);
      throw kafkaFailure(err, topic, batch.recordCount, caller === undefined ? logger : logger.child({ caller }));
    }
    observer.stored?.(topic, logs, bytes, (performance.now() - started) / 1000, batch.appSecret);
    return { topic };
  }

  /**
   * The app-secret check comes first, so a caller without a valid secret learns nothing of the validation rules. A
   * request has one context (a batch's applies to every item), so it is allowed or refused whole.
   */
  function authenticated(
    context: TimberContext | undefined,
    meta: RequestMeta,
    then: () => Promise<{ topic: string }>,
  ): Promise<{ topic: string }> {
    const check = options.authenticator?.check({
      secret: context?.appSecret ?? "",
      topic: context?.kafkaTopic ?? "",
      source: meta.source,
    });
    return check === undefined ? then() : check.then(then);
  }

  // Not async, for the same reason as `write`; a synchronous throw still reaches the caller as a rejection.
  return {
    produce(timber, meta = {}) {
      try {
        return authenticated(timber.context, meta, () =>
          write([timber], validateTimber(timber, settings), meta, () => "content"),
        );
      } catch (err) {
        return Promise.reject(err);
      }
    },
    produceBatch(collection, meta = {}) {
      try {
        return authenticated(collection.context, meta, () =>
          write(collection.items, validateCollection(collection, settings), meta, (index) => `items[${index}]`),
        );
      } catch (err) {
        return Promise.reject(err);
      }
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
  if (code === "NOT_ENOUGH_REPLICAS") {
    const retry = records > 1 ? " (with the same Idempotency-Key: other partitions may have stored their part)" : "";
    return new ProduceError(
      "NOT_ENOUGH_REPLICAS",
      `Kafka has fewer in-sync replicas of the partition than min.insync.replicas; retry later${retry}`,
      { retryAfterMs: kafkaRetryAfterMs, cause: err },
    );
  }
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
