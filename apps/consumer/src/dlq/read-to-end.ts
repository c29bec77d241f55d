// Reads a topic from a group's position (or its start) up to its end as of the start of the read, then stops.
// What is written to the topic meanwhile (a replay's own write-backs) is left for the next read.
import type { BatchConsumer, IncomingBatch, KafkaAdmin, TopicPartitionOffset } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import type { GroupConsumerOptions } from "../app.js";

export interface ReadToEndOptions {
  topic: string;
  groupId: string;
  createConsumer(options: GroupConsumerOptions): BatchConsumer;
  admin: Pick<KafkaAdmin, "fetchTopicOffsets" | "fetchCommittedOffsets">;
  /**
   * Where to start per partition: this group's committed offsets (the replay's own group), or, when undefined, the
   * start of each partition. The consuming group itself only commits when `commit` is true.
   */
  startFromGroup?: string;
  /** Commit each batch's end once `onBatch` resolved (the replay). Default false: no group's offsets move. */
  commit?: boolean;
  /** Called with records of one partition, in order, only those before the end; resolves true to stop reading. */
  onBatch(batch: IncomingBatch): Promise<boolean | undefined>;
  idleTimeoutMs: number;
  logger: Logger;
}

export interface ReadResult {
  /** false when the read ended before the end: stopped by `onBatch`, idle for `idleTimeoutMs`, or interrupted. */
  reachedEnd: boolean;
  /** Records before the end not read yet (0 when `reachedEnd`). */
  remaining: number;
  /** Records between the start positions and the end, when the read began. */
  total: number;
}

export interface ReadToEnd {
  done: Promise<ReadResult>;
  /** Ends the read early (a signal): the batch being handled finishes (and is committed) first. */
  stop(): void;
  /** Records before the end not read yet; undefined until the end is known. */
  remaining(): number | undefined;
}

export function readToEnd(options: ReadToEndOptions): ReadToEnd {
  const { topic, logger } = options;
  let stopRequested = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  let remainingNow: () => number | undefined = () => undefined;
  const done = (async (): Promise<ReadResult> => {
    const ends = await options.admin.fetchTopicOffsets(topic);
    const starts = new Map<number, bigint>();
    const committed = options.startFromGroup
      ? await options.admin.fetchCommittedOffsets(options.startFromGroup, [topic])
      : [];
    const position = new Map<number, bigint>();
    const end = new Map<number, bigint>();
    for (const { partition, low, high } of ends) {
      const own = committed.find((entry) => entry.partition === partition)?.offset;
      const from = own !== undefined && own !== "-1" && BigInt(own) > BigInt(low) ? BigInt(own) : BigInt(low);
      starts.set(partition, from);
      position.set(partition, from);
      end.set(partition, BigInt(high));
    }
    const left = () =>
      [...end].reduce((sum, [partition, high]) => {
        const at = position.get(partition) ?? high;
        return sum + (at < high ? high - at : 0n);
      }, 0n);
    remainingNow = () => Number(left());
    const total = Number(left());
    if (total === 0 || stopRequested) return { reachedEnd: total === 0, remaining: total, total };

    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let handling = false;
    let lastProgress = Date.now();
    let failure: unknown;
    const consumer = options.createConsumer({ groupId: options.groupId, fromBeginning: true });
    const handle = async (batch: IncomingBatch): Promise<void> => {
      if (stopRequested) return;
      const high = end.get(batch.partition) ?? 0n;
      const at = position.get(batch.partition) ?? high;
      const messages = batch.messages.filter((record) => {
        const offset = BigInt(record.offset);
        return offset >= at && offset < high;
      });
      if (messages.length === 0) {
        if (at >= high) consumer.pause([{ topic, partition: batch.partition }]);
        return;
      }
      handling = true;
      try {
        const stop = await options.onBatch({ ...batch, messages });
        const next = BigInt((messages.at(-1) as { offset: string }).offset) + 1n;
        if (options.commit) {
          const offsets: TopicPartitionOffset[] = [{ topic, partition: batch.partition, offset: String(next) }];
          await consumer.commit(offsets);
        }
        position.set(batch.partition, next);
        if (stop) stopRequested = true;
      } catch (err) {
        failure = err;
        stopRequested = true;
      } finally {
        handling = false;
        lastProgress = Date.now();
      }
      if (left() === 0n || stopRequested) finish();
    };
    const idle = setInterval(() => {
      if (!handling && Date.now() - lastProgress > options.idleTimeoutMs) {
        logger.warn("no records arrived before the end of the topic; ending the read", {
          topic,
          idleTimeoutMs: options.idleTimeoutMs,
          remaining: Number(left()),
        });
        finish();
      }
    }, 250);
    try {
      await consumer.connect();
      await consumer.subscribe([topic]);
      await consumer.run({ eachBatch: handle });
      await Promise.race([finished, stopped]);
      // A batch being handled when the stop came is finished (and committed) before leaving the group.
      stopRequested = true;
      while (handling) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      clearInterval(idle);
      await consumer.disconnect().catch((err: unknown) => logger.warn("leaving the group failed", { err }));
    }
    if (failure) throw failure;
    const remaining = Number(left());
    return { reachedEnd: remaining === 0, remaining, total };
  })();
  return {
    done,
    stop() {
      stopRequested = true;
      wake();
    },
    remaining: () => remainingNow(),
  };
}
