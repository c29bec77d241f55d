// Records read from a log topic and the dead letters the consumer makes of them, for the unit tests of the
// dead-letter writer and of the `dlq` commands that read them back.
import type { IncomingRecord } from "@barito-flow/kafka";
import { type DeadLetterReason, deadLetterHeaders } from "../pipeline/dead-letter.js";

/** A record read from `shop_logs`: no headers and timestamp 0 unless given. */
export function shopRecord(
  fields: Pick<IncomingRecord, "partition" | "offset" | "value"> & Partial<IncomingRecord>,
): IncomingRecord {
  return { topic: "shop_logs", headers: {}, timestamp: 0, ...fields };
}

/** `source` as the dead-letter writer puts it on partition 0 of the topic `dlq` (its first document failed). */
export function deadLetterOf(
  source: IncomingRecord,
  why: DeadLetterReason,
  at: { offset: number; timestamp: number },
): IncomingRecord {
  return {
    topic: "dlq",
    partition: 0,
    offset: String(at.offset),
    value: source.value,
    headers: deadLetterHeaders(source, 0, why),
    timestamp: at.timestamp,
  };
}
