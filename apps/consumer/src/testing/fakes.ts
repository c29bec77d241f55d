// In-memory adapters for the composed consumer app (app.test.ts): a Kafka whose batches the test scripts, a sink
// whose outcomes the test decides, a dead-letter publisher that can be held. No network, no timers of their own.
import type {
  BatchConsumer,
  BatchHandler,
  IncomingBatch,
  IncomingRecord,
  OutgoingRecord,
  TopicPartition,
  TopicPartitionOffset,
} from "@barito-flow/kafka";
import type { BulkOperation, BulkSink, ItemOutcome, SinkHealthState } from "@barito-flow/opensearch-sink";
import type { ConsumerAdapters, GroupConsumerOptions } from "../app.js";

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One group consumer the app created: the test delivers batches to it and reads what it committed and paused. */
export interface FakeGroupConsumer extends BatchConsumer {
  readonly options: GroupConsumerOptions;
  readonly commits: TopicPartitionOffset[][];
  readonly paused: TopicPartition[];
  readonly resumed: TopicPartition[];
  /** Hands a batch to the app's `eachBatch`, as the fetch loop would; the partition counts as assigned from then on. */
  deliver(batch: IncomingBatch): Promise<void>;
  /** The last offset committed for a partition, as a number (-1: none). */
  committedOffset(topic: string, partition: number): number;
}

export function createFakeGroupConsumer(options: GroupConsumerOptions): FakeGroupConsumer {
  const assigned = new Map<string, TopicPartition>();
  const commits: TopicPartitionOffset[][] = [];
  const paused: TopicPartition[] = [];
  const resumed: TopicPartition[] = [];
  let handler: BatchHandler | undefined;
  return {
    options,
    commits,
    paused,
    resumed,
    async connect() {},
    async subscribe() {},
    async refreshTopics() {},
    async run(batchHandler) {
      handler = batchHandler;
    },
    async commit(offsets) {
      commits.push(offsets.map((offset) => ({ ...offset })));
    },
    async committed() {
      return [];
    },
    pause: (partitions) => void paused.push(...partitions),
    resume: (partitions) => void resumed.push(...partitions),
    assignment: () => [...assigned.values()],
    async disconnect() {},
    deliver(batch) {
      if (!handler) throw new Error("deliver() before the app started consuming");
      assigned.set(`${batch.topic}:${batch.partition}`, { topic: batch.topic, partition: batch.partition });
      return handler.eachBatch(batch);
    },
    committedOffset(topic, partition) {
      let last = -1;
      for (const commit of commits)
        for (const entry of commit)
          if (entry.topic === topic && entry.partition === partition) last = Number(entry.offset);
      return last;
    },
  };
}

/** A document the sink was given, waiting for the test to decide its outcome. */
export interface SubmittedDocument {
  op: BulkOperation;
  settle(result: ItemOutcome | Error): void;
}

export interface FakeSink extends BulkSink {
  /** Every document submitted, in order; `pending` holds those without an outcome yet. */
  readonly submitted: SubmittedDocument[];
  pending(): SubmittedDocument[];
  /** Acknowledges the pending documents `select` picks (all by default) as indexed. */
  acknowledge(select?: (op: BulkOperation) => boolean): void;
  setHealth(state: SinkHealthState): void;
  readonly closed: boolean;
}

export const indexed: ItemOutcome = { status: "indexed", httpStatus: 201 };

export function createFakeSink(): FakeSink {
  const submitted: SubmittedDocument[] = [];
  const unsettled = new Set<SubmittedDocument>();
  const idle = new Set<() => void>();
  let health: SinkHealthState = "ok";
  let closed = false;
  const settleIdle = () => {
    if (unsettled.size > 0) return;
    for (const resolve of idle) resolve();
    idle.clear();
  };
  return {
    submitted,
    get closed() {
      return closed;
    },
    pending: () => [...unsettled],
    acknowledge(select: (op: BulkOperation) => boolean = () => true) {
      for (const doc of [...unsettled]) if (select(doc.op)) doc.settle(indexed);
    },
    setHealth(state: SinkHealthState) {
      health = state;
    },
    submit<Op extends BulkOperation>(op: Op, done: (result: ItemOutcome | Error, op: Op) => void) {
      if (closed) throw new Error("sink closed");
      const doc: SubmittedDocument = {
        op,
        settle(result) {
          if (!unsettled.delete(doc)) throw new Error(`document ${op.id} settled twice`);
          done(result, op);
          settleIdle();
        },
      };
      submitted.push(doc);
      unsettled.add(doc);
    },
    add: () => Promise.reject(new Error("the app submits, it does not add")),
    isSaturated: () => false,
    onDrain: () => () => {},
    waitForCapacity: async () => {},
    flush: async () => {},
    drain: () => (unsettled.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.add(resolve))),
    async close() {
      closed = true;
    },
    stats: () => {
      throw new Error("not used by the app");
    },
    health: () => ({ state: health, consecutiveFailures: health === "ok" ? 0 : 3 }),
  };
}

export interface FakeDeadLetters {
  readonly published: Array<{ topic: string; record: OutgoingRecord }>;
  /** Holds every publish until `release()`: the test sees what is committed while a dead letter is in flight. */
  hold(): void;
  release(): void;
}

export function createFakeDeadLetters(): FakeDeadLetters & ConsumerAdapters["deadLetters"] {
  const published: Array<{ topic: string; record: OutgoingRecord }> = [];
  let gate: Deferred | undefined;
  return {
    published,
    hold() {
      gate = deferred();
    },
    release() {
      gate?.resolve();
      gate = undefined;
    },
    async connect() {},
    async publish(topic, records) {
      await gate?.promise;
      for (const record of records) published.push({ topic, record });
    },
    async close() {},
    nativeCallRunning: () => false,
  };
}

/** The adapters of one composed app, with the group consumers it created (the last is the log pipeline's). */
export function createFakeAdapters() {
  const sink = createFakeSink();
  const deadLetters = createFakeDeadLetters();
  const consumers: FakeGroupConsumer[] = [];
  const createdTopics: string[] = [];
  const adapters = {
    sink,
    deadLetters,
    admin: {
      async connect() {},
      async createTopic(spec: { topic: string }) {
        createdTopics.push(spec.topic);
        return "created" as const;
      },
      listTopics: async () => [],
      async close() {},
      nativeCallRunning: () => false,
    },
    createConsumer(options: GroupConsumerOptions) {
      const consumer = createFakeGroupConsumer(options);
      consumers.push(consumer);
      return consumer;
    },
  } satisfies ConsumerAdapters;
  return {
    adapters,
    sink,
    deadLetters,
    createdTopics,
    /** The consumer of the log group (not the announcement reader's, whose group ends in `-nte-<uuid>`). */
    logConsumer(groupId: string): FakeGroupConsumer {
      const consumer = consumers.find((candidate) => candidate.options.groupId === groupId);
      if (!consumer) throw new Error(`no consumer in group ${groupId}`);
      return consumer;
    },
  };
}

/** A batch of one partition from consecutive offsets. */
export function batchOf(
  topic: string,
  partition: number,
  firstOffset: number,
  values: ReadonlyArray<Buffer | null>,
): IncomingBatch {
  const messages: IncomingRecord[] = values.map((value, k) => ({
    topic,
    partition,
    offset: String(firstOffset + k),
    value,
    headers: {},
    timestamp: Date.UTC(2026, 6, 8, 9, 10, 11),
  }));
  return { topic, partition, highWatermark: String(firstOffset + values.length), messages };
}
