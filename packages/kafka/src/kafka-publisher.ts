import { noopLogger } from "@barito-flow/logger";
import pRetry from "p-retry";
import {
  brokerCountOf,
  type ClientPath,
  chooseClientPath,
  connectMetadataTimeoutProperty,
  type NativeProducer,
  type PartitionReplicas,
  produceAll,
  topicPartitionsOf,
} from "./client-internals.js";
import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { invalidConfig, isKafkaError, KafkaError } from "./errors.js";
import type { ConnectionDiagnostics } from "./librdkafka-logger.js";
import { authenticationLogIntervalMs, isAuthenticationFailure } from "./librdkafka-logger.js";
import { loadKafkaJS, nativeKafkaFactory } from "./native-client.js";
import { settleWithin } from "./settle-within.js";
import { assertTopicName, toNativeMessages } from "./outgoing-record.js";
import { toKafkaError } from "./to-kafka-error.js";
import type { KafkaPublisherOptions, LibrdkafkaProperties, MessagePublisher, OutgoingRecord } from "./types.js";

const compressions = ["zstd", "lz4", "gzip", "snappy", "none"] as const;

/**
 * librdkafka producer settings. Durability first: acks=all plus idempotence (no duplicates or reordering from
 * librdkafka's own retries), unlimited retries bounded only by `message.timeout.ms` so a publish waits at most
 * `deliveryTimeoutMs`. Throughput comes from many concurrent `publish()` calls batched by `linger.ms`.
 */
export function publisherProperties(options: KafkaPublisherOptions): LibrdkafkaProperties {
  const deliveryTimeoutMs = integerOption("deliveryTimeoutMs", options.deliveryTimeoutMs, 30_000, 1_000, 900_000);
  const lingerMs = integerOption("lingerMs", options.lingerMs, 5, 0, 900_000);
  if (lingerMs >= deliveryTimeoutMs) throw invalidConfig("lingerMs", "must be smaller than deliveryTimeoutMs");
  const maxMessageBytes = integerOption("maxMessageBytes", options.maxMessageBytes, 1_000_000, 1_000, 1_000_000_000);
  const compression = options.compression ?? "zstd";
  if (!compressions.includes(compression)) {
    throw invalidConfig("compression", `must be one of ${compressions.join(", ")}`);
  }
  if (options.allowAutoTopicCreation !== undefined && typeof options.allowAutoTopicCreation !== "boolean") {
    throw invalidConfig("allowAutoTopicCreation", "must be a boolean");
  }
  const unknownTopicTimeoutMs = integerOption(
    "unknownTopicTimeoutMs",
    options.unknownTopicTimeoutMs,
    5_000,
    0,
    900_000,
  );
  return {
    // librdkafka's default (10 s) lets a broker that came back sit unused for up to 10 s, which blows the delivery
    // bound; 1 s keeps reconnects prompt at negligible cost.
    "reconnect.backoff.max.ms": 1_000,
    acks: -1,
    "enable.idempotence": true,
    "max.in.flight.requests.per.connection": 5,
    retries: 2_147_483_647,
    "compression.codec": compression,
    "linger.ms": lingerMs,
    "message.max.bytes": maxMessageBytes,
    // A produce batch cannot exceed a single request; librdkafka rejects batch.size > message.max.bytes.
    "batch.size": Math.min(1_000_000, maxMessageBytes),
    "message.timeout.ms": deliveryTimeoutMs,
    "request.timeout.ms": Math.min(30_000, deliveryTimeoutMs),
    "queue.buffering.max.messages": integerOption(
      "maxQueuedRecords",
      options.maxQueuedRecords,
      100_000,
      1,
      2_147_483_647,
    ),
    "queue.buffering.max.kbytes": integerOption(
      "maxQueuedKbytes",
      options.maxQueuedKbytes,
      1_048_576,
      1,
      2_147_483_647,
    ),
    "allow.auto.create.topics": options.allowAutoTopicCreation ?? false,
    "topic.metadata.propagation.max.ms": Math.min(unknownTopicTimeoutMs, deliveryTimeoutMs),
  };
}

/**
 * Creates the Kafka adapter of the `MessagePublisher` port. Options are validated here (throws `KafkaError`
 * INVALID_CONFIG); nothing touches the network or loads librdkafka until `connect()`.
 */
export function createKafkaPublisher(options: KafkaPublisherOptions): MessagePublisher {
  const connection = buildConnectionConfig(options);
  const reconnectIntervalMs = integerOption("reconnectIntervalMs", options.reconnectIntervalMs, 2_000, 10, 600_000);
  const connectTimeoutMs = integerOption("connectTimeoutMs", options.connectTimeoutMs, 10_000, 100, 600_000);
  const properties: LibrdkafkaProperties = {
    ...connection.properties,
    ...publisherProperties(options),
    ...options.librdkafka,
  };
  const maxMessageBytes = Number(properties["message.max.bytes"]);
  const deliveryTimeoutMs = Number(properties["message.timeout.ms"]);
  const logger = (options.logger ?? noopLogger).child({ component: "kafka-publisher" });
  const minInsyncReplicas = integerOption("minInsyncReplicas", options.minInsyncReplicas, 2, 1, 32_767);

  const diagnostics: ConnectionDiagnostics = {};
  const newNativeKafka = nativeKafkaFactory(connection, logger, diagnostics);
  let producer: NativeProducer | undefined;
  let path: ClientPath = "fallback";
  /** The last failed connection attempt, until one succeeds. */
  let problem: KafkaError | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Ends the background connection attempts when the publisher closes. */
  const closeSignal = new AbortController();
  /** The background attempts (one `pRetry` run) until one connects or a failure is not worth retrying. */
  let connecting: Promise<void> | undefined;
  let attempt: Promise<void> | undefined;
  /** Callers of `connect()` waiting for the next outcome: each failed attempt is reported to them. */
  const waitingForAttempt = new Set<(error: KafkaError) => void>();
  // Rejecters of the publishes not yet settled, failed by `close()` when Kafka never acknowledged them.
  const unsettled = new Set<(error: unknown) => void>();
  let nativeCalls = 0;
  /** Runs a call that occupies libuv's thread pool, counted until the native work ends (not a JS timeout). */
  function native<T>(call: () => Promise<T>): Promise<T> {
    nativeCalls++;
    return call().finally(() => {
      nativeCalls--;
    });
  }

  /**
   * Why connecting did not succeed (yet). Refused credentials are AUTHENTICATION_FAILED and not retriable: the
   * background attempts go on (credentials get rotated), but a caller should not treat it as an outage.
   */
  function notConnectedError(waitedMs: number): KafkaError {
    const last = diagnostics.lastBrokerFailure;
    const detail = last ? ` (last broker error: ${last})` : "";
    if (isAuthenticationFailure(last)) {
      return new KafkaError(
        "AUTHENTICATION_FAILED",
        `Kafka refused the client's credentials${detail}; still retrying in the background`,
        { retriable: false },
      );
    }
    return new KafkaError(
      "BROKER_UNAVAILABLE",
      `Kafka not reachable within ${waitedMs} ms${detail}; still connecting in the background`,
      { retriable: true },
    );
  }
  // The attempt's failure is logged once per interval while it stays the same (a reconnect every few seconds).
  let lastAttemptLog = { code: "", at: Number.NEGATIVE_INFINITY, suppressed: 0 };

  async function connectOnce(): Promise<void> {
    const kafkaJS = await loadKafkaJS();
    const candidatePath = await chooseClientPath(options.patchedBinding);
    // An attempt ends when connect() stops waiting for it, so a closed publisher leaves no native wait behind.
    const boundedConnect = await connectMetadataTimeoutProperty();
    const candidate = (await newNativeKafka(kafkaJS)).producer(
      boundedConnect === undefined ? properties : { ...properties, [boundedConnect]: connectTimeoutMs },
    );
    try {
      // Counted: against an unreachable cluster the native connect runs on the thread pool for tens of seconds,
      // also after close() stopped waiting for it, and an exit meanwhile would wait for it.
      await native(() => candidate.connect());
    } catch (error) {
      await native(() => candidate.disconnect()).catch(() => {});
      throw toKafkaError(error, "connect to Kafka");
    }
    if (closed) {
      await candidate.disconnect().catch(() => {});
      throw new KafkaError("CLOSED", "publisher was closed while connecting", { retriable: false });
    }
    producer = candidate;
    path = candidatePath;
    problem = undefined;
    logger.info("kafka publisher connected", { brokers: connection.kafkaJS.brokers, clientPath: path });
  }

  function attemptError(error: unknown): KafkaError {
    const kafkaError = toKafkaError(error, "connect to Kafka");
    if (kafkaError.code !== "AUTHENTICATION_FAILED" && isAuthenticationFailure(diagnostics.lastBrokerFailure)) {
      return notConnectedError(connectTimeoutMs);
    }
    return kafkaError;
  }

  /**
   * Outages are retried, and so are refused credentials (they get rotated) although callers are told they are not
   * retriable; anything else (the publisher closed, a broken installation) ends the attempts.
   */
  const worthRetrying = (error: unknown) =>
    isKafkaError(error) && (error.retriable || error.code === "AUTHENTICATION_FAILED");

  function keepConnecting(): Promise<void> {
    if (connecting !== undefined) return connecting;
    connecting = pRetry(
      () => {
        attempt = connectOnce().catch((error: unknown) => {
          throw attemptError(error);
        });
        return attempt.finally(() => {
          attempt = undefined;
        });
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 1,
        minTimeout: reconnectIntervalMs,
        maxTimeout: reconnectIntervalMs,
        signal: closeSignal.signal,
        unref: true,
        shouldRetry: ({ error }) => worthRetrying(error),
        onFailedAttempt: ({ error }) => {
          const kafkaError = toKafkaError(error, "connect to Kafka");
          problem = kafkaError;
          for (const report of waitingForAttempt) report(kafkaError);
          if (closed) return;
          if (!worthRetrying(kafkaError)) {
            logger.warn("kafka publisher cannot connect; not retrying", { err: kafkaError });
            return;
          }
          const now = Date.now();
          if (kafkaError.code !== lastAttemptLog.code || now - lastAttemptLog.at >= authenticationLogIntervalMs) {
            logger.warn("kafka publisher cannot connect yet; retrying in the background", {
              err: kafkaError,
              retryInMs: reconnectIntervalMs,
              ...(lastAttemptLog.suppressed > 0 ? { repeatedSinceLastLog: lastAttemptLog.suppressed } : {}),
            });
            lastAttemptLog = { code: kafkaError.code, at: now, suppressed: 0 };
          } else lastAttemptLog.suppressed++;
        },
      },
    ).finally(() => {
      connecting = undefined;
    });
    // Nobody may be waiting any more when the attempts end: their failure stays in `problem`.
    connecting.catch(() => {});
    return connecting;
  }

  /** One metadata look per topic at a time, its answer reused for a second: an outage times out many writes at once. */
  const isrLooks = new Map<string, { at: number; short: Promise<PartitionReplicas | undefined> }>();
  function shortPartition(current: NativeProducer, topic: string): Promise<PartitionReplicas | undefined> {
    const cached = isrLooks.get(topic);
    if (cached && Date.now() - cached.at < 1_000) return cached.short;
    // A shrunk ISR only: a topic created with fewer replicas than min.insync.replicas is refused for good, a
    // misconfiguration that the timeout's own message fits better than "retry later".
    const short = native(() => topicPartitionsOf(current, topic, 1_000)).then(
      (partitions) =>
        partitions.find((p) => p.leader >= 0 && p.isrs.length < p.replicas.length && p.isrs.length < minInsyncReplicas),
      () => undefined,
    );
    isrLooks.set(topic, { at: Date.now(), short });
    if (isrLooks.size > 1_000) isrLooks.delete(isrLooks.keys().next().value as string);
    return short;
  }

  /**
   * librdkafka retries NOT_ENOUGH_REPLICAS until the record times out, so the refusal reaches us as a TIMEOUT. A led
   * partition whose ISR shrank below min.insync.replicas right after says which it was; a leaderless one, or a
   * full ISR, is some other outage and stays a TIMEOUT. The look takes at most a second more.
   */
  async function explainTimeout(topic: string, error: KafkaError): Promise<KafkaError> {
    const current = producer;
    if (error.code !== "TIMEOUT" || current === undefined) return error;
    const short = await shortPartition(current, topic);
    if (short === undefined) return error;
    return new KafkaError(
      "NOT_ENOUGH_REPLICAS",
      `publish to ${topic}: partition ${short.id} has ${short.isrs.length} in-sync replica(s), fewer than min.insync.replicas (${minInsyncReplicas})`,
      { retriable: true, librdkafkaCode: error.librdkafkaCode, cause: error },
    );
  }

  return {
    connect() {
      if (closed) return Promise.reject(new KafkaError("CLOSED", "publisher is closed", { retriable: false }));
      if (producer !== undefined) return Promise.resolve();
      // librdkafka's initial metadata wait is a fixed 30 s; the caller gets an answer sooner (the next attempt's
      // failure, or the timeout) while the attempts go on in the background.
      const { promise: failed, reject } = Promise.withResolvers<never>();
      waitingForAttempt.add(reject);
      return settleWithin(Promise.race([keepConnecting(), failed]), connectTimeoutMs, () =>
        notConnectedError(connectTimeoutMs),
      ).finally(() => waitingForAttempt.delete(reject));
    },

    // Not async: an async function keeps its parameters and locals (the records, their native copies' sources)
    // alive until Kafka answers, while librdkafka has copied them the moment they were produced.
    publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
      let pending: Promise<void>;
      try {
        assertTopicName(topic);
        const messages = toNativeMessages(records, maxMessageBytes);
        if (closed) throw new KafkaError("CLOSED", "publisher is closed", { retriable: true });
        if (producer === undefined) {
          throw new KafkaError("BROKER_UNAVAILABLE", "not connected to Kafka yet", { retriable: true });
        }
        if (messages.length === 0) return Promise.resolve();
        pending = produceAll(producer, path, topic, messages);
      } catch (error) {
        return Promise.reject(error instanceof KafkaError ? error : toKafkaError(error, `publish to ${topic}`));
      }
      // Backstop: librdkafka expires records on a periodic scan, which can overshoot message.timeout.ms; the
      // caller's bound is kept regardless (a record may still land later: at-least-once, as with any timeout).
      const settled = Promise.withResolvers<void>();
      unsettled.add(settled.reject);
      settleWithin(
        pending,
        deliveryTimeoutMs + 2_000,
        () =>
          new KafkaError("TIMEOUT", `publish to ${topic}: not acknowledged within ${deliveryTimeoutMs} ms`, {
            retriable: true,
          }),
      ).then(settled.resolve, (error: unknown) =>
        explainTimeout(topic, toKafkaError(error, `publish to ${topic}`)).then(settled.reject),
      );
      return settled.promise.finally(() => unsettled.delete(settled.reject));
    },

    isConnected() {
      return producer !== undefined && !closed;
    },

    connectionProblem() {
      if (producer !== undefined) return undefined;
      return problem ?? (isAuthenticationFailure(diagnostics.lastBrokerFailure) ? notConnectedError(0) : undefined);
    },

    async brokerCount(timeoutMs = 2_000) {
      if (producer === undefined) {
        throw new KafkaError("BROKER_UNAVAILABLE", "not connected to Kafka yet", { retriable: true });
      }
      try {
        const current = producer;
        return await native(() => brokerCountOf(current, timeoutMs));
      } catch (error) {
        throw toKafkaError(error, "describe cluster");
      }
    },

    async flush(timeoutMs = 10_000) {
      const current = producer;
      if (current === undefined) return;
      try {
        await native(() => current.flush({ timeout: timeoutMs }));
      } catch (error) {
        throw toKafkaError(error, "flush");
      }
    },

    nativeCallRunning() {
      return nativeCalls > 0;
    },

    close(timeoutMs = 10_000) {
      closing ??= (async () => {
        closed = true;
        closeSignal.abort(new KafkaError("CLOSED", "publisher was closed while connecting", { retriable: false }));
        // An attempt in flight disconnects its own client when it ends (it sees `closed`); wait for it only briefly.
        if (attempt !== undefined) await settleWithin(attempt, 2_000, () => undefined).catch(() => {});
        const current = producer;
        producer = undefined;
        if (current === undefined) return;
        try {
          await native(() => current.flush({ timeout: Math.max(0, timeoutMs) }));
        } catch (error) {
          const stranded = unsettled.size;
          logger.warn("kafka publisher closed with undelivered records", {
            err: toKafkaError(error, "flush"),
            publishesFailed: stranded,
          });
          const failure = new KafkaError(
            "CLOSED",
            "the publisher closed before Kafka acknowledged these records; some may still have been written",
            { retriable: true },
          );
          for (const reject of unsettled) reject(failure);
          unsettled.clear();
          // disconnect() would flush again for 5 s before destroying the client, on the thread pool the process's
          // exit waits for; the client (and what librdkafka still holds) goes with the process instead.
          return;
        }
        await native(() => current.disconnect()).catch((error: unknown) => {
          logger.warn("kafka publisher disconnect failed", { err: toKafkaError(error, "disconnect") });
        });
        logger.info("kafka publisher closed");
      })();
      return closing;
    },
  };
}
