// `dlq replay`: each chosen dead letter's documents indexed again, with the id and into the index the consumer gave
// them (so a replay overwrites, never duplicates); what fails again goes back to the dead-letter topic.
import type { IncomingBatch, IncomingRecord } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import { type BulkOperation, type BulkSink, type ItemOutcome, isSinkError } from "@barito-flow/opensearch-sink";
import type { DeadLetterReason, DeadLetterWriter } from "../pipeline/dead-letter.js";
import { decodeRecord, type LogDocument } from "../pipeline/documents.js";
import type { IndexMethod } from "../pipeline/log-pipeline.js";
import { type DeadLetter, parseDeadLetter, sourceRecordOf } from "./dead-letter-record.js";
import { type DeadLetterFilter, matchesFilter } from "./options.js";

export interface ReplayDependencies {
  filter: DeadLetterFilter;
  indexMethod: IndexMethod;
  /** The consumer's daily index naming (`createDailyIndexer`), for dead letters without `barito-dlq-index`. */
  indexFor(prefix: string, timestamp: string, recordTimestampMs?: number): string;
  /** The consumer's redaction: the dead-letter topic holds the record as it was produced. */
  redact?: (indexPrefix: string, json: string) => string;
  ensureDataStream?: (indexPrefix: string) => Promise<void>;
  logger: Logger;
  /** Indexing and writing back; absent in a dry run, which prints each operation with `print` instead. */
  sink?: Pick<BulkSink, "add" | "flush">;
  deadLetters?: DeadLetterWriter;
  print?: (line: Record<string, unknown>) => void;
}

export interface ReplaySummary {
  /** Dead letters read (up to the end as of the start). */
  read: number;
  /** Left out by the filters. */
  skipped: number;
  /** Records without barito's headers: reported, never replayed. */
  notDeadLetters: number;
  /** Dead letters whose documents are all indexed now (or, in a dry run, would be sent). */
  indexed: number;
  documentsIndexed: number;
  /** Dead letters that failed again and were written back, by their new error type. */
  failed: number;
  failedByErrorType: Record<string, number>;
}

export interface Replayer {
  /** Replays a batch of the dead-letter topic; resolves once every chosen record is indexed or written back. */
  replayBatch(batch: IncomingBatch): Promise<void>;
  summary(): ReplaySummary;
}

function refused(err: unknown): DeadLetterReason | undefined {
  if (!isSinkError(err) || err.retriable) return undefined;
  return {
    httpStatus: err.status ?? 0,
    errorType: err.errorType ?? `invalid_${err.field ?? "operation"}`,
    reason: err.message,
  };
}

export function createReplayer(deps: ReplayDependencies): Replayer {
  const { logger } = deps;
  const summary: ReplaySummary = {
    read: 0,
    skipped: 0,
    notDeadLetters: 0,
    indexed: 0,
    documentsIndexed: 0,
    failed: 0,
    failedByErrorType: {},
  };
  const dataStream = deps.indexMethod === "DataStream";
  /** Data streams whose template was made sure of: once per replay, not once per document. */
  const ensured = new Map<string, Promise<void>>();

  function operation(deadLetter: DeadLetter, doc: LogDocument): BulkOperation {
    return {
      action: dataStream ? "create" : "index",
      index: dataStream
        ? doc.indexPrefix
        : (deadLetter.index ?? deps.indexFor(doc.indexPrefix, doc.timestamp, deadLetter.source.timestamp)),
      id: doc.id,
      document: deps.redact ? deps.redact(doc.indexPrefix, doc.json.toString()) : doc.json.toString(),
    };
  }

  async function send(op: BulkOperation): Promise<ItemOutcome | DeadLetterReason> {
    const sink = deps.sink as Pick<BulkSink, "add">;
    try {
      if (dataStream && deps.ensureDataStream) {
        let check = ensured.get(op.index);
        if (!check) {
          check = deps.ensureDataStream(op.index);
          ensured.set(op.index, check);
          // A failed check is tried again by the next document.
          check.catch(() => ensured.delete(op.index));
        }
        await check;
      }
      return await sink.add(op);
    } catch (err) {
      const why = refused(err);
      if (why) return why;
      throw err;
    }
  }

  async function writeBack(record: IncomingRecord, itemIndex: number, why: DeadLetterReason): Promise<void> {
    summary.failed++;
    summary.failedByErrorType[why.errorType] = (summary.failedByErrorType[why.errorType] ?? 0) + 1;
    if (deps.deadLetters) await deps.deadLetters.write(record, itemIndex, why);
    else deps.print?.({ action: "dead-letter again", ...why, sourceTopic: record.topic, sourceOffset: record.offset });
  }

  /** One dead letter: its documents sent, then one outcome for the whole of it. */
  async function replay(deadLetter: DeadLetter, record: IncomingRecord): Promise<void> {
    const source = sourceRecordOf(deadLetter);
    const decoded = decodeRecord(source);
    if (!decoded.ok) {
      await writeBack(source, -1, { httpStatus: 0, errorType: decoded.errorType, reason: decoded.reason });
      return;
    }
    const documents = decoded.documents.filter(
      (doc) => deadLetter.itemIndex < 0 || doc.itemIndex === deadLetter.itemIndex,
    );
    if (documents.length === 0) {
      await writeBack(source, deadLetter.itemIndex, {
        httpStatus: 0,
        errorType: "item_not_found",
        reason: `the record has no item ${deadLetter.itemIndex}`,
      });
      return;
    }
    const operations = documents.map((doc) => operation(deadLetter, doc));
    if (!deps.sink) {
      for (const op of operations)
        deps.print?.({
          action: op.action,
          index: op.index,
          id: op.id,
          dlqPartition: record.partition,
          dlqOffset: record.offset,
          sourceTopic: deadLetter.source.topic,
          errorType: deadLetter.errorType,
          document: JSON.parse(op.document as string) as unknown,
        });
      summary.indexed++;
      summary.documentsIndexed += operations.length;
      return;
    }
    const outcomes = await Promise.all(operations.map(send));
    const failures: Array<{ itemIndex: number; why: DeadLetterReason }> = [];
    outcomes.forEach((outcome, k) => {
      const itemIndex = documents[k]?.itemIndex ?? 0;
      if (!("status" in outcome)) failures.push({ itemIndex, why: { ...outcome, index: operations[k]?.index } });
      else if (outcome.status === "rejected")
        failures.push({
          itemIndex,
          why: {
            httpStatus: outcome.httpStatus,
            errorType: outcome.errorType,
            reason: outcome.reason,
            index: operations[k]?.index,
          },
        });
      else summary.documentsIndexed++;
    });
    if (failures.length === 0) {
      summary.indexed++;
      return;
    }
    // Each failing document goes back on its own, with its item index: the others are indexed now.
    for (const { itemIndex, why } of failures) await writeBack(source, itemIndex, why);
  }

  return {
    async replayBatch(batch) {
      const chosen: Array<Promise<void>> = [];
      for (const record of batch.messages) {
        summary.read++;
        const deadLetter = parseDeadLetter(record);
        if (!deadLetter) {
          summary.notDeadLetters++;
          logger.warn("not a barito dead letter (no barito-dlq-source-* headers); left as it is", {
            partition: record.partition,
            offset: record.offset,
          });
          continue;
        }
        if (!matchesFilter(deadLetter, deps.filter)) {
          summary.skipped++;
          continue;
        }
        chosen.push(replay(deadLetter, record));
      }
      // The sink batches by count and age: send what this batch queued now instead of waiting out its interval.
      if (chosen.length > 0) await deps.sink?.flush();
      await Promise.all(chosen);
    },
    summary: () => ({ ...summary, failedByErrorType: { ...summary.failedByErrorType } }),
  };
}
