// The one module that touches @confluentinc/kafka-javascript's private API: the node-rdkafka clients under its
// KafkaJS-style layer (`_getInternalClient()`), their `delivery-report` listeners, the native consume handle and the
// entry points added by this repository's patch (patches/@confluentinc__kafka-javascript@1.10.1.patch). What an
// upgrade of the client must re-check here is listed in README.md ("Upgrading the client").
import type { NativeKafka } from "./native-client.js";
import type { NativeMessage } from "./outgoing-record.js";

/**
 * How this process's Kafka clients move records through the native binding:
 * - `patched`: the patch's entry points: one `produceBatch()` call per `publish()`, one packed buffer per fetch;
 * - `fallback`: what the stock library offers: one native `produce()` per record, one object per fetched message.
 */
export type ClientPath = "patched" | "fallback";

export type NativeProducer = ReturnType<NativeKafka["producer"]>;
export type NativeConsumer = ReturnType<NativeKafka["consumer"]>;

interface MetadataClient {
  getMetadata(
    options: { allTopics: boolean; timeout: number; topic?: string },
    callback: (
      error: unknown,
      metadata: { brokers: unknown[]; topics?: Array<{ name: string; partitions: PartitionReplicas[] }> },
    ) => void,
  ): void;
}

/** One partition as librdkafka's metadata describes it. */
export interface PartitionReplicas {
  id: number;
  leader: number;
  replicas: number[];
  isrs: number[];
}

/**
 * The node-rdkafka producer under the KafkaJS-compatible one (`_getInternalClient()`, which the library itself uses
 * for `dependentAdmin()`). Its `delivery-report` handler, installed by the KafkaJS layer, calls `opaque.resolve(meta)`
 * or `opaque.reject(error)` per record.
 */
interface InternalProducer extends MetadataClient {
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
   * Added by the patch: produces every record with one native call and calls `callback` once for the batch, with
   * null after the last acknowledgement or with a LibrdKafkaError (numeric `code`) at the first failed delivery.
   * Throws a LibrdKafkaError when librdkafka refuses a record synchronously (the callback then never runs).
   * Undefined on an unpatched binary.
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

/** The node-rdkafka consumer under the KafkaJS-compatible one, and its native handle. */
interface InternalConsumer extends MetadataClient {
  _client?: { consume?: (...args: unknown[]) => unknown };
}

function internalClientOf<T>(client: NativeProducer | NativeConsumer): T | undefined {
  return (client as { _getInternalClient?: () => T | undefined })._getInternalClient?.();
}

// ---------------------------------------------------------------------------------------------------------------
// Which path is active
// ---------------------------------------------------------------------------------------------------------------

const pathsTaken = new Set<ClientPath>();

/** What the installed binding's producer prototype offers of the patch's additions (nothing on a stock binding). */
async function producerPrototype(): Promise<{ produceBatch?: unknown; connectMetadataTimeoutProperty?: unknown }> {
  type Module = { Producer?: { prototype?: object } };
  const module = (await import("@confluentinc/kafka-javascript")) as Module & { default?: Module };
  return (module.Producer ?? module.default?.Producer)?.prototype ?? {};
}

/** The patch adds `produceBatch` to the binding and, with it, the packed consume: one check covers both. */
async function bindingIsPatched(): Promise<boolean> {
  return typeof (await producerPrototype()).produceBatch === "function";
}

/**
 * With the patch, a client's `connect()` takes a bound for its metadata request under this property; the stock client
 * waits 30 s on libuv's thread pool, which against an unreachable cluster kept a closed client's process alive that
 * long. `undefined` on a stock client, which would pass an unknown property on to librdkafka and fail.
 */
export async function connectMetadataTimeoutProperty(): Promise<string | undefined> {
  const property = (await producerPrototype()).connectMetadataTimeoutProperty;
  return typeof property === "string" ? property : undefined;
}

/**
 * The path a new client takes: `patched` when the installed binding has the patch's entry points and the client
 * was not told to avoid them (`patchedBinding: false`), else `fallback`. Recorded for `clientPathsTaken()`.
 */
export async function chooseClientPath(usePatched: boolean | undefined): Promise<ClientPath> {
  const path: ClientPath = usePatched !== false && (await bindingIsPatched()) ? "patched" : "fallback";
  pathsTaken.add(path);
  return path;
}

/** The paths Kafka clients of this process have taken since it started (none before the first `connect()`). */
export function clientPathsTaken(): ClientPath[] {
  return [...pathsTaken];
}

/** What prom-client's `Gauge` calls `collect` with (declared here: this package does not depend on prom-client). */
interface LabelledGauge {
  reset(): void;
  set(labels: { path: ClientPath }, value: number): void;
}

/**
 * The configuration of a gauge `<prefix>_kafka_client_path{path}`: 1 for each path (`patched`, `fallback`) a Kafka
 * client of this process took. Summed over a cluster's workers it counts the workers on each path.
 * Usage with prom-client: `new Gauge({ ...kafkaClientPathGauge("barito_producer"), registers: [registry] })`.
 */
export function kafkaClientPathGauge(prefix: string) {
  return {
    name: `${prefix}_kafka_client_path`,
    help: "Kafka clients' path through the native binding: patched (batch produce, packed consume) or the stock fallback",
    labelNames: ["path"] as const,
    collect(this: LabelledGauge) {
      this.reset();
      for (const path of pathsTaken) this.set({ path }, 1);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Metadata requests the KafkaJS-style layer does not offer
// ---------------------------------------------------------------------------------------------------------------

/** One metadata request without topics: the brokers of the cluster. */
export function brokerCountOf(producer: NativeProducer, timeoutMs: number): Promise<number> {
  const client = internalClientOf<MetadataClient>(producer);
  if (client === undefined) return Promise.reject(new Error("the client has no internal node-rdkafka client"));
  return new Promise<number>((resolve, reject) => {
    client.getMetadata({ allTopics: false, timeout: timeoutMs }, (error, metadata) =>
      error ? reject(error) : resolve(metadata.brokers.length),
    );
  });
}

/** The partitions of `topic` as the cluster describes them now (one metadata request). */
export function topicPartitionsOf(
  producer: NativeProducer,
  topic: string,
  timeoutMs: number,
): Promise<PartitionReplicas[]> {
  const client = internalClientOf<MetadataClient>(producer);
  if (client === undefined) return Promise.reject(new Error("the client has no internal node-rdkafka client"));
  return new Promise<PartitionReplicas[]>((resolve, reject) => {
    client.getMetadata({ allTopics: false, topic, timeout: timeoutMs }, (error, metadata) =>
      error ? reject(error) : resolve(metadata.topics?.find((entry) => entry.name === topic)?.partitions ?? []),
    );
  });
}

/**
 * A metadata request for ALL topics: the one that makes librdkafka re-match a regex subscription (a request for
 * named topics does not).
 */
export function requestAllTopicsMetadata(consumer: NativeConsumer, timeoutMs: number): Promise<void> {
  const client = internalClientOf<MetadataClient>(consumer);
  if (client === undefined) return Promise.reject(new Error("the client has no internal node-rdkafka client"));
  return new Promise<void>((resolve, reject) => {
    client.getMetadata({ allTopics: true, timeout: timeoutMs }, (error) => (error ? reject(error) : resolve()));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Consume
// ---------------------------------------------------------------------------------------------------------------

/**
 * Makes a connected consumer take the fallback conversion: the patched `lib/kafka-consumer.js` asks the native
 * consume for a packed batch with a fifth argument `true`; without it the binding builds one object per message, as
 * the stock library does (and the patched JS accepts either answer). Nothing to do on the patched path.
 */
export function useConsumePath(consumer: NativeConsumer, path: ClientPath): void {
  if (path === "patched") return;
  const handle = internalClientOf<InternalConsumer>(consumer)?._client;
  const consume = handle?.consume;
  if (handle === undefined || typeof consume !== "function") return;
  handle.consume = function consumeUnpacked(this: unknown, ...args: unknown[]) {
    return consume.apply(this, args.slice(0, 4));
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Produce
// ---------------------------------------------------------------------------------------------------------------

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

/**
 * Produces every record of one call with ONE native call (the patch's `produceBatch`): no per-record argument
 * parsing, persistent opaque or delivery-report dispatch into JS; the callback runs once per call. Same outcomes as
 * the per-record path below: resolves after the last acknowledgement, rejects with librdkafka's error (its numeric
 * code, classified by `toKafkaError`) at the first failed delivery or at once on a synchronous refusal (a full local
 * queue), and records produced before a failure may still be delivered.
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
  // The callback closes over the resolvers only: a closure inside a promise executor would keep `values` (this
  // whole batch) alive until its last acknowledgement, although librdkafka copied it during the call.
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  try {
    client.produceBatch(topic, -1, values, keys, headers, (error) => {
      if (error) reject(error);
      else resolve();
    });
  } catch (error) {
    // A synchronous refusal (a full local queue).
    reject(error);
  }
  return promise;
}

/**
 * One native `produce()` per record and ONE shared delivery opaque: the promise settles when the last record is
 * acknowledged, or rejects at the first failure. KafkaJS's `send()` allocates a promise, an opaque and a metadata
 * entry per record and aggregates them in a Map. A synchronous failure (a full local queue) rejects at once; the
 * records produced before it may still be delivered, as with `send()`.
 */
function producePerRecord(client: InternalProducer, topic: string, messages: readonly NativeMessage[]): Promise<void> {
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

/**
 * Produces the records of one `publish()` on the client's path: `produceBatch` on the patched one, one `produce()`
 * per record on the fallback, and KafkaJS's own `send()` should a future client have no internal node-rdkafka client.
 */
export function produceAll(
  producer: NativeProducer,
  path: ClientPath,
  topic: string,
  messages: readonly NativeMessage[],
): Promise<void> {
  const client = internalClientOf<InternalProducer>(producer);
  if (client === undefined || typeof client.produce !== "function") {
    return producer.send({ topic, messages: [...messages] }).then(() => undefined);
  }
  if (path === "patched" && typeof client.produceBatch === "function") {
    return produceBatch(client as InternalProducer & Required<Pick<InternalProducer, "produceBatch">>, topic, messages);
  }
  return producePerRecord(client, topic, messages);
}
