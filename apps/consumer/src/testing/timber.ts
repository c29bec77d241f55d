// Records in barito's two wire formats, as the producer writes them to Kafka, for the consumer's tests.
import { create, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";

export interface TimberContext {
  kafkaTopic: string;
  esIndexPrefix: string;
  appMaxTps?: number;
}

type Content = Record<string, unknown>;

export function encodeTimber(context: TimberContext, timestamp: string, content: Content): Buffer {
  return Buffer.from(toBinary(TimberSchema, create(TimberSchema, { context, timestamp, content: content as never })));
}

/** `encodeTimber` of one context: `(content, timestamp?)`, the timestamp given here unless the call names another. */
export function timberOf(context: TimberContext, timestamp: string) {
  return (content: Content, at = timestamp): Buffer => encodeTimber(context, at, content);
}

/** `count` records for `publish`, the k-th with the content `content(k)`. */
export function timberRecords(
  count: number,
  context: TimberContext,
  timestamp: string,
  content: (k: number) => Content,
): Array<{ value: Buffer }> {
  return Array.from({ length: count }, (_, k) => ({ value: encodeTimber(context, timestamp, content(k)) }));
}

/** A TimberCollection (sent with the header `message_format: TimberCollection`): its items share the context. */
export function timberCollection(
  context: TimberContext,
  items: ReadonlyArray<{ timestamp: string; content: Content }>,
): Buffer {
  return Buffer.from(
    toBinary(
      TimberCollectionSchema,
      create(TimberCollectionSchema, {
        context,
        items: items.map(({ timestamp, content }) => create(TimberSchema, { timestamp, content: content as never })),
      }),
    ),
  );
}
