/**
 * The Kafka record contract between a barito producer and its consumers. A record's value is one barito `Timber`,
 * or a `TimberCollection` when the `message_format` header says so; the idempotency headers let the consumer derive
 * a document id that a retried request cannot duplicate.
 */
export const recordHeaders = {
  messageFormat: "message_format",
  idempotencyKey: "idempotency-key",
  idempotencyItem: "idempotency-item",
} as const;

export type MessageFormat = "Timber" | "TimberCollection";
