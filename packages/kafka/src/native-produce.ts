// Producing a whole publish() with as few native calls and callbacks as the binding allows (see kafka-publisher.ts).
import type { newNativeKafka } from "./native-client.js";
import type { NativeMessage } from "./outgoing-record.js";

export type NativeProducer = ReturnType<Awaited<ReturnType<typeof newNativeKafka>>["producer"]>;

/**
 * The node-rdkafka client under the KafkaJS-compatible producer (`_getInternalClient()`, which the library itself uses
 * for `dependentAdmin()`). Its `delivery-report` handler, installed by the KafkaJS layer, calls `opaque.resolve(meta)` or
 * `opaque.reject(error)` per record.
 */
export interface InternalProducer {
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

export function internalClientOf(producer: NativeProducer): InternalProducer | undefined {
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
 * Produces every record of one call through `produceBatch` when the binding has it. Otherwise (an unpatched binary)
 * with one native `produce()` each and ONE shared delivery opaque: the promise settles when the last record is
 * acknowledged, or rejects at the first failure. KafkaJS's `send()` allocated a
 * promise, an opaque and a metadata entry per record and aggregated them in a Map (~15% of the producer's CPU at
 * batch load). A synchronous failure (a full local queue) rejects at once; the records produced before it may still
 * be delivered, as with `send()`.
 */
export function produceAll(client: InternalProducer, topic: string, messages: readonly NativeMessage[]): Promise<void> {
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
