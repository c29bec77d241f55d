/**
 * Completion of the records of one partition whose documents are still in the sink. Documents finish out of order
 * (retries, several bulks in flight); the partition may only commit up to the first record that is not finished,
 * so `committable` is the offset after the longest finished prefix.
 *
 * Runs once per record and once per document: offsets are plain numbers (exact below 2^53, which a partition
 * writing a million records a second reaches after 285 years) and a record is named by its position in the order
 * it was tracked, so finishing one costs an array index instead of a BigInt parse and a Map lookup.
 */
export class PartitionProgress {
  /** Offsets of the tracked records not yet compacted away, in tracking order... */
  private offsets: number[] = [];
  /** ...and how many of their units are unfinished. */
  private remaining: number[] = [];
  /** Position of `offsets[0]` since the first record tracked. */
  private base = 0;
  /** Index (into the arrays) of the first unfinished record. */
  private head = 0;
  /** Documents handed to the sink and not finished yet. */
  inFlight = 0;
  /** Next offset to commit, once any record finished; -1 before. */
  committableOffset = -1;
  /** Set when the partition was revoked: finishing units of it no longer moves anything. */
  revoked = false;
  /** Partition paused until its documents drain. */
  paused = false;
  /** A batch waiting for this partition to drain (see log-pipeline.ts). */
  drainWaiter: ((drained: boolean) => void) | undefined;

  constructor(
    readonly topic = "",
    readonly partition = 0,
  ) {}

  /** Next offset to commit as Kafka wants it, once any record finished. */
  get committable(): string | undefined {
    return this.committableOffset < 0 ? undefined : String(this.committableOffset);
  }

  /**
   * Registers a record with the number of units (documents or dead-letter writes) that must finish; returns its
   * position, which `finish` takes.
   */
  track(offset: number | string, units: number): number {
    const value = typeof offset === "number" ? offset : Number(offset);
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`offset ${offset} is not a safe integer`);
    const position = this.base + this.offsets.length;
    this.offsets.push(value);
    this.remaining.push(units);
    this.inFlight += units;
    if (units === 0) this.advance();
    return position;
  }

  /** `units` of the record at `position` finished; returns true when the committable offset moved. */
  finish(position: number, units = 1): boolean {
    this.inFlight -= units;
    const at = position - this.base;
    // Already compacted away: cannot happen for a unit finishing once, but never corrupt the order if it does.
    if (at < 0 || at >= this.remaining.length) return false;
    const left = (this.remaining[at] as number) - units;
    this.remaining[at] = left;
    return left <= 0 && at === this.head ? this.advance() : false;
  }

  private advance(): boolean {
    const { offsets, remaining } = this;
    let head = this.head;
    const start = head;
    while (head < remaining.length && (remaining[head] as number) <= 0) head++;
    if (head === start) return false;
    this.committableOffset = (offsets[head - 1] as number) + 1;
    this.head = head;
    // Keep the arrays from growing forever on a long-lived partition.
    // Stryker disable next-line all: when to compact changes memory only; that compaction keeps positions right is tested.
    if (head > 4096 && head * 2 > offsets.length) {
      offsets.splice(0, head);
      remaining.splice(0, head);
      this.base += head;
      this.head = 0;
    }
    return true;
  }
}
