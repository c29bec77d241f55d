/**
 * Per-partition commit positions. A batch is marked done only when every record of it was indexed or
 * dead-lettered; since batches of one partition complete in order, the committable position is simply the
 * next offset after the last completed batch.
 */
export class OffsetTracker {
  private readonly done = new Map<string, { topic: string; partition: number; offset: number }>();
  private readonly dirty = new Set<string>();

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** `nextOffset` is a plain number (offsets stay below 2^53, see partition-progress.ts). */
  markDone(topic: string, partition: number, nextOffset: number): void {
    const key = OffsetTracker.key(topic, partition);
    // A batch finishing late (after its partition was revoked and handed back) must not move the position back.
    const current = this.done.get(key);
    if (current) {
      if (current.offset >= nextOffset) return;
      current.offset = nextOffset;
    } else this.done.set(key, { topic, partition, offset: nextOffset });
    this.dirty.add(key);
  }

  /** Positions changed since the last call (for periodic commits). */
  takeDirty(
    filter?: (topic: string, partition: number) => boolean,
  ): Array<{ topic: string; partition: number; offset: string }> {
    const out: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const key of [...this.dirty]) {
      const position = this.done.get(key);
      if (!position || (filter && !filter(position.topic, position.partition))) continue;
      this.dirty.delete(key);
      out.push({ topic: position.topic, partition: position.partition, offset: String(position.offset) });
    }
    return out;
  }

  /** A failed commit must be retried. */
  restore(positions: ReadonlyArray<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of positions) this.dirty.add(OffsetTracker.key(topic, partition));
  }

  /** Revoked partitions belong to another member now: forget them. */
  forget(partitions: ReadonlyArray<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) {
      const key = OffsetTracker.key(topic, partition);
      this.done.delete(key);
      this.dirty.delete(key);
    }
  }
}
