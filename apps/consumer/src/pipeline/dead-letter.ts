import { setTimeout as sleep } from "node:timers/promises";
import type { IncomingRecord, MessagePublisher } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import type { ConsumerMetrics } from "../metrics.js";

/** Why a record, or one document of it, cannot be indexed. */
export interface DeadLetterReason {
  /** The item's HTTP status; 0 when the record never reached OpenSearch (undecodable, refused by the sink). */
  httpStatus: number;
  errorType: string;
  reason: string;
  /** The index the document was sent to, when it got that far (`barito-dlq-index`: `dlq stats`, `dlq replay`). */
  index?: string;
}

export interface DeadLetterOptions {
  publisher: Pick<MessagePublisher, "publish">;
  topic: string;
  metrics: Pick<ConsumerMetrics, "deadLettered">;
  logger: Logger;
  /** Once true, a failed write is given up instead of retried (the record then stays uncommitted). */
  isStopping(): boolean;
}

/** Writes a record, as it was read plus why it failed, to the dead-letter topic. */
export interface DeadLetterWriter {
  /**
   * Resolves once the dead-letter topic has the record: the record counts as handled only then, so a failed write
   * is retried until it succeeds. Rejects only when a write fails while stopping.
   */
  write(record: IncomingRecord, itemIndex: number, why: DeadLetterReason): Promise<void>;
}

export const deadLetterHeaderPrefix = "barito-dlq-";
/** Longest `barito-dlq-reason` kept: OpenSearch's reasons can quote a whole document. */
const maxReasonLength = 2000;

/**
 * The dead letter's headers: the original record's, plus where it came from and why it was refused. `itemIndex`
 * is the document's position inside a collection, -1 for the whole record.
 */
export function deadLetterHeaders(
  record: IncomingRecord,
  itemIndex: number,
  why: DeadLetterReason,
): Record<string, string | Buffer> {
  return {
    ...record.headers,
    [`${deadLetterHeaderPrefix}source-topic`]: record.topic,
    [`${deadLetterHeaderPrefix}source-partition`]: String(record.partition),
    [`${deadLetterHeaderPrefix}source-offset`]: record.offset,
    // The dead letter gets a timestamp of its own; the source's is what a processing-date index was named after.
    [`${deadLetterHeaderPrefix}source-timestamp`]: String(record.timestamp),
    [`${deadLetterHeaderPrefix}item-index`]: String(itemIndex),
    [`${deadLetterHeaderPrefix}http-status`]: String(why.httpStatus),
    [`${deadLetterHeaderPrefix}error-type`]: why.errorType,
    ...(why.index ? { [`${deadLetterHeaderPrefix}index`]: why.index } : {}),
    // One line: header values with line breaks break line-oriented tools reading the dead-letter topic.
    [`${deadLetterHeaderPrefix}reason`]: why.reason.replace(/\s+/g, " ").slice(0, maxReasonLength),
  };
}

export function createDeadLetterWriter(options: DeadLetterOptions): DeadLetterWriter {
  const { publisher, topic, metrics, logger } = options;
  return {
    async write(record, itemIndex, why) {
      const deadLetter = { value: record.value ?? Buffer.alloc(0), headers: deadLetterHeaders(record, itemIndex, why) };
      for (let attempt = 0; ; attempt++) {
        try {
          await publisher.publish(topic, [deadLetter]);
          metrics.deadLettered.inc({ reason: why.errorType });
          logger.warn("record dead-lettered", {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            itemIndex,
            errorType: why.errorType,
            httpStatus: why.httpStatus,
          });
          return;
        } catch (err) {
          if (options.isStopping()) throw err;
          logger.warn("dead-letter publish failed, retrying", { err, attempt });
          await sleep(Math.min(10_000, 200 * 2 ** Math.min(attempt, 6)));
        }
      }
    },
  };
}
