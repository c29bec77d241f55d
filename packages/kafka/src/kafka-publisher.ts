import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { invalidConfig, KafkaError } from "./errors.js";
import type { ConnectionDiagnostics } from "./librdkafka-logger.js";
import { silentLogger } from "./logger.js";
import { authenticationLogIntervalMs, isAuthenticationFailure } from "./librdkafka-logger.js";
import { loadKafkaJS, newNativeKafka } from "./native-client.js";
import { assertTopicName, type NativeMessage, toNativeMessages } from "./outgoing-record.js";
import { toKafkaError } from "./to-kafka-error.js";
import type { KafkaPublisherOptions, LibrdkafkaProperties, MessagePublisher, OutgoingRecord } from "./types.js";

type NativeProducer = ReturnType<Awaited<ReturnType<typeof newNativeKafka>>["producer"]>;

/**
 * The node-rdkafka client under the KafkaJS-compatible producer (`_getInternalClient()`, which the library itself uses
 * for `dependentAdmin()`). Its `delivery-report` handler, installed by the KafkaJS layer, calls `opaque.resolve(meta)` or
 * `opaque.reject(error)` per record.
 */
interface InternalProducer {
  getMetadata(
    options: { allTopics: boolean; timeout: number },
    callback: (error: unknown, metadata: { brokers: unknown[] }) => void,
  ): void;
  produce(
    topic: string,
    partition: number,
    value: Buffer,
    key: Buffer | string | undefined,
    timestamp: number,
    opaque: DeliveryOpaque,
    headers: Array<Record<string, Buffer | string>> | null,
  ): unknown;
  /**
   * Added by this repository's patch of the binding (patches/@confluentinc__kafka-javascript@1.10.1.patch): produces
   * every record with one native call and calls `callback` once for the batch, with null after the last
   * acknowledgement or with a LibrdKafkaError (numeric `code`) at the first failed delivery. Throws a LibrdKafkaError
   * when librdkafka refuses a record synchronously (the callback then never runs). Undefined on an unpatched binary.
   */
  produceBatch?: (
    topic: string,
    partition: number,
    values: Buffer[],
    keys: Array<Buffer | string | null> | null,
    headers: Array<Record<string, Buffer | string> | null> | null,
    callback: (error: unknown) => void,
  ) => unknown;
}

interface DeliveryOpaque {
  resolve(metadata: unknown): void;
  reject(error: unknown): void;
}

type DeliveryListener = (error: unknown, report: { opaque?: unknown } | undefined) => void;

interface ReportEmitter {
  rawListeners(event: "delivery-report"): DeliveryListener[];
  removeAllListeners(event: "delivery-report"): unknown;
  on(event: "delivery-report", listener: DeliveryListener): unknown;
}

/** The shared opaque of one publish(): counts acknowledgements down to the last record. */
class BatchDelivery implements DeliveryOpaque {
  remaining: number;
  settled = false;
  constructor(
    count: number,
    private readonly onDone: () => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.remaining = count;
  }
  resolve(): void {
    if (--this.remaining === 0 && !this.settled) {
      this.settled = true;
      this.onDone();
    }
  }
  reject(error: unknown): void {
    this.remaining--;
    if (!this.settled) {
      this.settled = true;
      this.onError(error);
    }
  }
}

const routed = new WeakMap<object, { listener: DeliveryListener; others: DeliveryListener[] }>();

/**
 * Successful reports of our batches go straight to their BatchDelivery; the KafkaJS layer's listener (which deletes
 * `report.opaque`, builds a metadata object and resolves through it, per record) still gets every failure (it turns
 * librdkafka errors into KafkaJS errors with their codes) and every report of its own `send()`. Checked on every
 * publish, so a listener the library adds later is kept too.
 */
function routeDeliveryReports(client: InternalProducer): void {
  const emitter = client as unknown as ReportEmitter;
  if (typeof emitter.rawListeners !== "function") return;
  const listeners = emitter.rawListeners("delivery-report");
  const previous = routed.get(client);
  if (previous !== undefined && listeners.length === 1 && listeners[0] === previous.listener) return;
  const others = [...(previous?.others ?? []), ...listeners.filter((listener) => listener !== previous?.listener)];
  const listener: DeliveryListener = (error, report) => {
    const opaque = report?.opaque;
    if (!error && opaque instanceof BatchDelivery) {
      opaque.resolve();
      return;
    }
    for (const other of others) other(error, report);
  };
  emitter.removeAllListeners("delivery-report");
  emitter.on("delivery-report", listener);
  routed.set(client, { listener, others });
}

function internalClientOf(producer: NativeProducer): InternalProducer | undefined {
  const candidate = (producer as { _getInternalClient?: () => unknown })._getInternalClient?.();
  return typeof (candidate as InternalProducer | undefined)?.produce === "function"
    ? (candidate as InternalProducer)
    : undefined;
}

/**
 * Produces every record of one call with ONE native call (the patched binding's `produceBatch`): no per-record
 * argument parsing, persistent opaque or delivery-report dispatch into JS; the callback runs once per call. Same
 * outcomes as the per-record path below: resolves after the last acknowledgement, rejects with librdkafka's error
 * (its numeric code, classified by `toKafkaError`) at the first failed delivery or at once on a synchronous refusal
 * (a full local queue), and records produced before a failure may still be delivered.
 */
function produceBatch(
  client: InternalProducer & Required<Pick<InternalProducer, "produceBatch">>,
  topic: string,
  messages: readonly NativeMessage[],
): Promise<void> {
  const count = messages.length;
  const values: Buffer[] = new Array(count);
  let keys: Array<Buffer | string | null> | null = null;
  let headers: Array<Record<string, Buffer | string> | null> | null = null;
  for (let i = 0; i < count; i++) {
    const message = messages[i] as NativeMessage;
    values[i] = message.value;
    if (message.key !== undefined) {
      keys ??= new Array(count).fill(null);
      keys[i] = message.key;
    }
    if (message.headers !== undefined) {
      headers ??= new Array(count).fill(null);
      headers[i] = message.headers;
    }
  }
  return new Promise<void>((resolve, reject) => {
    // A synchronous refusal throws here, which rejects the promise.
    client.produceBatch(topic, -1, values, keys, headers, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * Produces every record of one call through `produceBatch` when the binding has it. Otherwise (an unpatched binary)
 * with one native `produce()` each and ONE shared delivery opaque: the promise settles when the last record is
 * acknowledged, or rejects at the first failure. KafkaJS's `send()` allocated a
 * promise, an opaque and a metadata entry per record and aggregated them in a Map (~15% of the producer's CPU at
 * batch load). A synchronous failure (a full local queue) rejects at once; the records produced before it may still
 * be delivered, as with `send()`.
 */
function produceAll(client: InternalProducer, topic: string, messages: readonly NativeMessage[]): Promise<void> {
  if (typeof client.produceBatch === "function") {
    return produceBatch(client as InternalProducer & Required<Pick<InternalProducer, "produceBatch">>, topic, messages);
  }
  routeDeliveryReports(client);
  return new Promise<void>((resolve, reject) => {
    const opaque = new BatchDelivery(messages.length, resolve, reject);
    for (const message of messages) {
      let headers: Array<Record<string, Buffer | string>> | null = null;
      if (message.headers !== undefined) {
        headers = [];
        for (const name in message.headers) headers.push({ [name]: message.headers[name] as Buffer | string });
      }
      try {
        client.produce(topic, -1, message.value, message.key, 0, opaque, headers);
      } catch (error) {
        opaque.settled = true;
        reject(error);
        return;
      }
    }
  });
}

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

/** Resolves/rejects like `promise`, or rejects with `onTimeout()` after `ms`; the timer never keeps Node alive. */
function settleWithin<T>(promise: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Creates the Kafka adapter of the `MessagePublisher` port. Options are validated here (throws `KafkaError`
 * INVALID_CONFIG); nothing touches the network or loads librdkafka until `connect()`.
 */
export function createKafkaPublisher(options: KafkaPublisherOptions): MessagePublisher {
  const connection = buildConnectionConfig(options);
  const properties: LibrdkafkaProperties = {
    ...connection.properties,
    ...publisherProperties(options),
    ...options.librdkafka,
  };
  const maxMessageBytes = Number(properties["message.max.bytes"]);
  const deliveryTimeoutMs = Number(properties["message.timeout.ms"]);
  const reconnectIntervalMs = integerOption("reconnectIntervalMs", options.reconnectIntervalMs, 2_000, 10, 600_000);
  const connectTimeoutMs = integerOption("connectTimeoutMs", options.connectTimeoutMs, 10_000, 100, 600_000);
  const logger = (options.logger ?? silentLogger).child({ component: "kafka-publisher" });

  const diagnostics: ConnectionDiagnostics = {};
  let producer: NativeProducer | undefined;
  /** The last failed connection attempt, until one succeeds. */
  let problem: KafkaError | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  let attempt: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

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
    const candidate = newNativeKafka(kafkaJS, connection, logger, diagnostics).producer(properties);
    try {
      await candidate.connect();
    } catch (error) {
      await candidate.disconnect().catch(() => {});
      throw toKafkaError(error, "connect to Kafka");
    }
    if (closed) {
      await candidate.disconnect().catch(() => {});
      throw new KafkaError("CLOSED", "publisher was closed while connecting", { retriable: false });
    }
    producer = candidate;
    problem = undefined;
    logger.info("kafka publisher connected", { brokers: connection.kafkaJS.brokers });
  }

  function startAttempt(): Promise<void> {
    if (retryTimer !== undefined) {
      clearTimeout(retryTimer);
      retryTimer = undefined;
    }
    attempt ??= connectOnce()
      .catch((error: unknown) => {
        let kafkaError = toKafkaError(error, "connect to Kafka");
        if (kafkaError.code !== "AUTHENTICATION_FAILED" && isAuthenticationFailure(diagnostics.lastBrokerFailure)) {
          kafkaError = notConnectedError(connectTimeoutMs);
        }
        problem = kafkaError;
        if (!closed) {
          const now = Date.now();
          if (kafkaError.code !== lastAttemptLog.code || now - lastAttemptLog.at >= authenticationLogIntervalMs) {
            logger.warn("kafka publisher cannot connect yet; retrying in the background", {
              err: kafkaError,
              retryInMs: reconnectIntervalMs,
              ...(lastAttemptLog.suppressed > 0 ? { repeatedSinceLastLog: lastAttemptLog.suppressed } : {}),
            });
            lastAttemptLog = { code: kafkaError.code, at: now, suppressed: 0 };
          } else lastAttemptLog.suppressed++;
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            startAttempt().catch(() => {});
          }, reconnectIntervalMs);
          retryTimer.unref();
        }
        throw kafkaError;
      })
      .finally(() => {
        attempt = undefined;
      });
    return attempt;
  }

  return {
    connect() {
      if (closed) return Promise.reject(new KafkaError("CLOSED", "publisher is closed", { retriable: false }));
      if (producer !== undefined) return Promise.resolve();
      // librdkafka's initial metadata wait is a fixed 30 s; the caller gets an answer sooner while the attempt (and
      // the retries after it) go on in the background.
      return settleWithin(startAttempt(), connectTimeoutMs, () => notConnectedError(connectTimeoutMs));
    },

    async publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
      assertTopicName(topic);
      const messages = toNativeMessages(records, maxMessageBytes);
      if (closed) throw new KafkaError("CLOSED", "publisher is closed", { retriable: true });
      if (producer === undefined) {
        throw new KafkaError("BROKER_UNAVAILABLE", "not connected to Kafka yet", { retriable: true });
      }
      if (messages.length === 0) return;
      try {
        // Backstop: librdkafka expires records on a periodic scan, which can overshoot message.timeout.ms; the
        // caller's bound is kept regardless (a record may still land later: at-least-once, as with any timeout).
        const client = internalClientOf(producer);
        await settleWithin(
          client === undefined
            ? producer.send({ topic, messages }).then(() => undefined)
            : produceAll(client, topic, messages),
          deliveryTimeoutMs + 2_000,
          () =>
            new KafkaError("TIMEOUT", `publish to ${topic}: not acknowledged within ${deliveryTimeoutMs} ms`, {
              retriable: true,
            }),
        );
      } catch (error) {
        throw toKafkaError(error, `publish to ${topic}`);
      }
    },

    isConnected() {
      return producer !== undefined && !closed;
    },

    connectionProblem() {
      if (producer !== undefined) return undefined;
      return problem ?? (isAuthenticationFailure(diagnostics.lastBrokerFailure) ? notConnectedError(0) : undefined);
    },

    async brokerCount(timeoutMs = 2_000) {
      const client = producer === undefined ? undefined : internalClientOf(producer);
      if (client === undefined)
        throw new KafkaError("BROKER_UNAVAILABLE", "not connected to Kafka yet", { retriable: true });
      return new Promise<number>((resolve, reject) => {
        client.getMetadata({ allTopics: false, timeout: timeoutMs }, (error, metadata) =>
          error ? reject(toKafkaError(error, "describe cluster")) : resolve(metadata.brokers.length),
        );
      });
    },

    async flush(timeoutMs = 10_000) {
      if (producer === undefined) return;
      try {
        await producer.flush({ timeout: timeoutMs });
      } catch (error) {
        throw toKafkaError(error, "flush");
      }
    },

    close() {
      closing ??= (async () => {
        closed = true;
        if (retryTimer !== undefined) clearTimeout(retryTimer);
        // An attempt in flight disconnects its own client when it ends (it sees `closed`); wait for it only briefly.
        if (attempt !== undefined) await settleWithin(attempt, 2_000, () => undefined).catch(() => {});
        const current = producer;
        producer = undefined;
        if (current === undefined) return;
        try {
          await current.flush({ timeout: 10_000 });
        } catch (error) {
          logger.warn("kafka publisher closed with undelivered records", { err: toKafkaError(error, "flush") });
        }
        await current.disconnect().catch((error: unknown) => {
          logger.warn("kafka publisher disconnect failed", { err: toKafkaError(error, "disconnect") });
        });
        logger.info("kafka publisher closed");
      })();
      return closing;
    },
  };
}
