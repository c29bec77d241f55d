// `dlq show`: one dead letter, readable or as one NDJSON line.
import type { IncomingRecord } from "@barito-flow/kafka";
import { decodeRecord } from "../pipeline/documents.js";
import { type DeadLetter, sourceRecordOf } from "./dead-letter-record.js";

/** Longest value printed in the readable form; `--json` carries the whole of it. */
const maxValueChars = 2_000;

function headersAsText(headers: Record<string, Buffer | string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.toString()]));
}

/** The documents in the dead letter's record as the consumer made them (`item-index` picks one of a collection). */
function documentsOf(deadLetter: DeadLetter): string[] | undefined {
  const decoded = decodeRecord(sourceRecordOf(deadLetter));
  if (!decoded.ok) return undefined;
  return decoded.documents
    .filter((doc) => deadLetter.itemIndex < 0 || doc.itemIndex === deadLetter.itemIndex)
    .map((doc) => doc.json.toString());
}

export function deadLetterJson(deadLetter: DeadLetter, record: IncomingRecord): Record<string, unknown> {
  const documents = documentsOf(deadLetter);
  return {
    dlqPartition: deadLetter.dlq.partition,
    dlqOffset: deadLetter.dlq.offset,
    deadLetteredAt: new Date(deadLetter.deadLetteredAt).toISOString(),
    sourceTopic: deadLetter.source.topic,
    sourcePartition: deadLetter.source.partition,
    sourceOffset: deadLetter.source.offset,
    itemIndex: deadLetter.itemIndex,
    index: deadLetter.index ?? null,
    httpStatus: deadLetter.httpStatus,
    errorType: deadLetter.errorType,
    reason: deadLetter.reason,
    replays: deadLetter.replays,
    headers: headersAsText(record.headers),
    ...(documents ? { documents: documents.map((json) => JSON.parse(json) as unknown) } : {}),
    value: deadLetter.value?.toString("base64") ?? null,
  };
}

export function formatDeadLetter(deadLetter: DeadLetter, record: IncomingRecord): string {
  const { source } = deadLetter;
  const documents = documentsOf(deadLetter);
  const value = documents
    ? documents.join("\n          ")
    : `(${deadLetter.value?.byteLength ?? 0} bytes, not a barito record)`;
  const lines = [
    `dlq ${deadLetter.dlq.partition}/${deadLetter.dlq.offset}  dead-lettered ${new Date(deadLetter.deadLetteredAt).toISOString()}`,
    `  source  ${source.topic}/${source.partition}@${source.offset}  item ${deadLetter.itemIndex}${deadLetter.index ? `  index ${deadLetter.index}` : ""}`,
    `  error   ${deadLetter.httpStatus} ${deadLetter.errorType}: ${deadLetter.reason}`,
    ...(deadLetter.replays > 0 ? [`  replays ${deadLetter.replays}`] : []),
    `  headers ${Object.entries(headersAsText(record.headers))
      .map(([name, text]) => `${name}=${text}`)
      .join("  ")}`,
    `  value   ${value.length > maxValueChars ? `${value.slice(0, maxValueChars)}…` : value}`,
  ];
  return lines.join("\n");
}

export function formatForeign(record: IncomingRecord): string {
  return `dlq ${record.partition}/${record.offset}  not a barito dead letter (no barito-dlq-source-* headers), ${record.value?.byteLength ?? 0} bytes`;
}
