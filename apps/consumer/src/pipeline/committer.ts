import type { BatchConsumer, TopicPartition } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import { OffsetTracker } from "./offset-tracker.js";
import { PartitionProgress } from "./partition-progress.js";

export interface CommitterOptions {
  /** The group consumer once it exists: commits go through it, for the partitions it is assigned. */
  consumer(): Pick<BatchConsumer, "commit" | "assignment"> | undefined;
  logger: Logger;
  /** Runs before every commit attempt (the pipeline adds its batched metric counts there, once a second). */
  beforeCommit?: () => void;
}

/**
 * Commit-only-after-acknowledged: each partition's progress says up to where its records are finished (indexed,
 * duplicate or dead-lettered, and every record before them too); a commit sends those positions, for the
 * partitions this member still owns, and nothing beyond them.
 */
export interface Committer {
  /** The progress of a partition, created at its first batch. */
  progressOf(topic: string, partition: number): PartitionProgress;
  /** The partitions tracked now (a snapshot: revocations remove entries). */
  partitions(): PartitionProgress[];
  /** True when no document of any tracked partition is still waiting for its outcome. */
  allFinished(): boolean;
  /** Commits the finished positions (of `only`, else of the assignment); false when the commit failed. */
  commit(only?: readonly TopicPartition[]): Promise<boolean>;
  /**
   * Partitions taken away: commits what is finished in them (unless `lost`: another member owns them already), then
   * forgets them. Outcomes arriving later for their records move nothing: the new owner reads those again.
   */
  revoke(partitions: readonly TopicPartition[], lost: boolean): Promise<void>;
  /** Commits every `intervalMs` until `stopPeriodic`. */
  startPeriodic(intervalMs: number): void;
  stopPeriodic(): void;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createCommitter(options: CommitterOptions): Committer {
  const { logger } = options;
  const tracker = new OffsetTracker();
  const progressByPartition = new Map<string, PartitionProgress>();
  let timer: NodeJS.Timeout | undefined;

  async function commit(only?: readonly TopicPartition[]): Promise<boolean> {
    options.beforeCommit?.();
    const consumer = options.consumer();
    if (!consumer) return true;
    // Positions move once per document; the tracker hears of them once per commit.
    for (const progress of progressByPartition.values()) {
      if (progress.committableOffset >= 0)
        tracker.markDone(progress.topic, progress.partition, progress.committableOffset);
    }
    const owned = new Set((only ?? consumer.assignment()).map((tp) => partitionKey(tp.topic, tp.partition)));
    const positions = tracker.takeDirty((topic, partition) => owned.has(partitionKey(topic, partition)));
    if (positions.length === 0) return true;
    try {
      await consumer.commit(positions);
      return true;
    } catch (err) {
      tracker.restore(positions);
      logger.warn("offset commit failed; retrying with the next commit", { err, partitions: positions.length });
      return false;
    }
  }

  return {
    progressOf(topic, partition) {
      const key = partitionKey(topic, partition);
      let progress = progressByPartition.get(key);
      if (!progress) {
        progress = new PartitionProgress(topic, partition);
        progressByPartition.set(key, progress);
      }
      return progress;
    },
    partitions: () => [...progressByPartition.values()],
    allFinished() {
      for (const progress of progressByPartition.values()) if (progress.inFlight > 0) return false;
      return true;
    },
    commit,
    async revoke(partitions, lost) {
      if (!lost) await commit(partitions);
      tracker.forget(partitions);
      for (const { topic, partition } of partitions) {
        const key = partitionKey(topic, partition);
        const progress = progressByPartition.get(key);
        progressByPartition.delete(key);
        if (!progress) continue;
        progress.revoked = true;
        progress.paused = false;
        progress.drainWaiter?.(false);
      }
    },
    startPeriodic(intervalMs) {
      clearInterval(timer);
      timer = setInterval(() => void commit(), intervalMs);
      timer.unref();
    },
    stopPeriodic() {
      clearInterval(timer);
    },
  };
}
