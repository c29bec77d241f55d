// A record of the dead-letter topic read back: the original record (value and headers) and the barito-dlq-*
// headers the consumer's dead-letter writer added (pipeline/dead-letter.ts).
import type { IncomingRecord } from "@barito-flow/kafka";
import { deadLetterHeaderPrefix } from "../pipeline/dead-letter.js";

/** How often a dead letter was replayed and failed again; absent on a first-time dead letter. */
export const replaysHeader = `${deadLetterHeaderPrefix}replays`;

export interface DeadLetter {
  /** Where the dead letter itself is. */
  dlq: { partition: number; offset: string };
  /** When it was dead-lettered (the dead letter's own record timestamp), ms since the epoch. */
  deadLetteredAt: number;
  source: { topic: string; partition: number; offset: string; timestamp: number };
  /** The document's position in a collection; -1 for the whole record. */
  itemIndex: number;
  httpStatus: number;
  errorType: string;
  reason: string;
  /** The index the document was sent to; absent for records never sent, and for dead letters of older consumers. */
  index?: string;
  replays: number;
  /** The original record's headers, without the barito-dlq-* ones. */
  headers: Record<string, Buffer | string>;
  value: Buffer | null;
}

const text = (value: Buffer | string | undefined) => (value === undefined ? undefined : value.toString());

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The dead letter in `record`, or undefined when the record is not one (no source topic, partition and offset):
 * something else was written to the topic, and a replay cannot know where it belongs.
 */
export function parseDeadLetter(record: IncomingRecord): DeadLetter | undefined {
  const h = (name: string) => text(record.headers[`${deadLetterHeaderPrefix}${name}`]);
  const topic = h("source-topic");
  const partition = integer(h("source-partition"));
  const offset = h("source-offset");
  if (!topic || partition === undefined || partition < 0 || !offset || !/^\d+$/.test(offset)) return undefined;
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(record.headers))
    if (!name.startsWith(deadLetterHeaderPrefix)) headers[name] = value;
  const index = h("index");
  return {
    dlq: { partition: record.partition, offset: record.offset },
    deadLetteredAt: record.timestamp,
    source: { topic, partition, offset, timestamp: integer(h("source-timestamp")) ?? 0 },
    itemIndex: integer(h("item-index")) ?? -1,
    httpStatus: integer(h("http-status")) ?? 0,
    errorType: h("error-type") ?? "unknown",
    reason: h("reason") ?? "",
    ...(index ? { index } : {}),
    replays: Math.max(0, integer(h("replays")) ?? 0),
    headers,
    value: record.value,
  };
}

/**
 * The record as the consumer read it from its log topic: decoding it gives the documents, with the ids, they had
 * then. Its headers count one more replay, which a write back to the dead-letter topic keeps.
 */
export function sourceRecordOf(deadLetter: DeadLetter): IncomingRecord {
  return {
    topic: deadLetter.source.topic,
    partition: deadLetter.source.partition,
    offset: deadLetter.source.offset,
    value: deadLetter.value,
    headers: { ...deadLetter.headers, [replaysHeader]: String(deadLetter.replays + 1) },
    timestamp: deadLetter.source.timestamp,
  };
}
