import type { PendingOperation } from "./bulk-operation.js";

/**
 * The operations waiting for a batch, oldest first, and the rule for when a batch leaves: `maxDocs` operations,
 * `maxBytes` of NDJSON, the oldest one due (enqueue time + flush interval), or a `flush()`/`close()` that asked
 * for everything buffered at that moment. A batch never exceeds `maxDocs` or `maxBytes`, except a single larger
 * operation, which goes alone.
 */
export class BatchBuffer {
  private readonly ops: PendingOperation[] = [];
  private bytes = 0;
  /** Operations at the head that `forceAll()` asked to send regardless of the triggers. */
  private forced = 0;

  constructor(
    private readonly maxDocs: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.ops.length;
  }

  /** The oldest operation, whose due time bounds the wait of the next batch. */
  head(): PendingOperation | undefined {
    return this.ops[0];
  }

  push(op: PendingOperation): void {
    this.ops.push(op);
    this.bytes += op.bytes;
  }

  /** Puts operations back for a retry, due at `now`: they are the oldest, so they go first. */
  requeue(ops: PendingOperation[], now: number): void {
    for (const op of ops) {
      op.dueAt = now;
      this.bytes += op.bytes;
    }
    this.ops.unshift(...ops);
    if (this.forced > 0) this.forced += ops.length;
  }

  /** Whether a batch should leave now; `closing` sends everything. */
  isReady(now: number, closing: boolean): boolean {
    const head = this.ops[0];
    if (!head) return false;
    return (
      closing || this.forced > 0 || this.ops.length >= this.maxDocs || this.bytes >= this.maxBytes || head.dueAt <= now
    );
  }

  /** Takes the next batch off the head. */
  cut(): PendingOperation[] {
    let count = 0;
    let bytes = 0;
    for (const op of this.ops) {
      if (count >= this.maxDocs || (count > 0 && bytes + op.bytes > this.maxBytes)) break;
      count += 1;
      bytes += op.bytes;
    }
    this.bytes -= bytes;
    this.forced = Math.max(0, this.forced - count);
    return this.ops.splice(0, count);
  }

  /** Everything buffered now leaves as soon as slots allow, whatever the triggers say. */
  forceAll(): void {
    this.forced = this.ops.length;
  }

  /** True while operations asked for by `forceAll()` are still buffered. */
  hasForced(): boolean {
    return this.forced > 0;
  }

  clear(): void {
    this.ops.length = 0;
    this.bytes = 0;
    this.forced = 0;
  }
}
