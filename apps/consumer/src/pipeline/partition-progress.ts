/**
 * Completion of the records of one partition whose documents are still in the sink. Documents finish out of order
 * (retries, several bulks in flight); the partition may only commit up to the first record that is not finished,
 * so `committable` is the offset after the longest finished prefix.
 */
export class PartitionProgress {
  private readonly remaining = new Map<bigint, number>();
  private readonly order: bigint[] = [];
  private head = 0;
  /** Documents handed to the sink and not finished yet. */
  inFlight = 0;
  /** Next offset to commit, once any record finished; undefined before. */
  committable: string | undefined;

  /** Registers a record with the number of units (documents or dead-letter writes) that must finish. */
  track(offset: string, units: number): void {
    const key = BigInt(offset);
    this.order.push(key);
    this.remaining.set(key, units);
    this.inFlight += units;
    if (units === 0) this.finish(offset, 0);
  }

  /** One unit of the record finished; returns true when the committable offset moved. */
  finish(offset: string, units = 1): boolean {
    const key = BigInt(offset);
    const left = (this.remaining.get(key) ?? 0) - units;
    this.inFlight -= units;
    if (left > 0) {
      this.remaining.set(key, left);
      return false;
    }
    this.remaining.delete(key);
    let moved = false;
    while (this.head < this.order.length && !this.remaining.has(this.order[this.head] as bigint)) {
      this.committable = ((this.order[this.head] as bigint) + 1n).toString();
      this.head++;
      moved = true;
    }
    // Keep the queue from growing forever on a long-lived partition.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }
}
