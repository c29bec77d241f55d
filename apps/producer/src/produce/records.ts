import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Timber,
  type TimberCollection,
  TimberCollectionSchema,
  type TimberContext,
  TimberContextSchema,
} from "@barito-flow/proto";
import { type MessageFormat, recordHeaders, TimberWriter, WireContentTimber } from "@barito-flow/proto/wire";
import { contentViolations } from "./content-rules.js";
import type { OutgoingRecord } from "./ports.js";
import { ProduceError } from "./produce-error.js";

export type { MessageFormat };

/** A record plus the request field it came from, so a size violation can name it. */
export interface BuiltRecord {
  record: OutgoingRecord;
  field: string;
}

/** barito-flow's timestamp: receive time, UTC, RFC 3339 with second precision. */
export function baritoTimestamp(receivedAt: Date): string {
  return `${receivedAt.toISOString().slice(0, 19)}Z`;
}

/**
 * Byte-compatible with barito-flow: `Timber` writes one proto Timber per log with the collection's context
 * copied into it; `TimberCollection` writes one record for the whole request with the `message_format` header.
 */
export function buildRecords(
  items: readonly Timber[],
  context: TimberContext,
  format: MessageFormat,
  receivedAt: Date,
  idempotencyKey: string | undefined,
  fieldOf: (index: number) => string,
): BuiltRecord[] {
  const timestamp = baritoTimestamp(receivedAt);
  if (format === "TimberCollection") {
    // toBinary walks the content without the encoder's screen: every item gets the exact check.
    const violations = items.flatMap((item, index) =>
      item.content === undefined ? [] : contentViolations(item.content, contentField(fieldOf(index))),
    );
    if (violations.length > 0) throw ProduceError.invalid(violations.slice(0, 20));
    const collection: TimberCollection = create(TimberCollectionSchema, {
      context,
      // `content` named explicitly: a WireContentTimber's is a getter, which a spread would not copy.
      items: items.map((item) => ({ ...item, content: item.content, timestamp })),
    });
    const headers: Record<string, string> = { [recordHeaders.messageFormat]: "TimberCollection" };
    // The consumer numbers the items of a collection itself, so only the key travels.
    if (idempotencyKey !== undefined) headers[recordHeaders.idempotencyKey] = idempotencyKey;
    let value: Uint8Array;
    try {
      value = toBinary(TimberCollectionSchema, collection);
    } catch (err) {
      if (err instanceof RangeError)
        throw ProduceError.invalid([{ field: "items", reason: "content nested too deeply" }]);
      throw err;
    }
    return [{ record: { value, headers }, field: "items" }];
  }
  const contextBytes = toBinary(TimberContextSchema, context);
  const writer = new TimberWriter();
  const built: BuiltRecord[] = new Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as Timber;
    const wire = WireContentTimber.wireOf(item);
    const record: OutgoingRecord = {
      value:
        wire === undefined
          ? encodeContent(writer, contextBytes, timestamp, item.content, index, fieldOf)
          : writer.encodeWithContentBytes(contextBytes, timestamp, wire),
    };
    if (idempotencyKey !== undefined) {
      record.headers = {
        [recordHeaders.idempotencyKey]: idempotencyKey,
        [recordHeaders.idempotencyItem]: String(index),
      };
    }
    built[index] = { record, field: fieldOf(index) };
  }
  return built;
}

function encodeContent(
  writer: TimberWriter,
  contextBytes: Uint8Array,
  timestamp: string,
  content: Timber["content"],
  index: number,
  fieldOf: (index: number) => string,
): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = writer.encode(contextBytes, timestamp, content);
  } catch (err) {
    // The encoder recurses: content nested thousands of levels deep (REST bodies are no longer walked by fromJson
    // first) overflows the stack. That is the client's input, not a server fault.
    if (err instanceof RangeError) {
      throw ProduceError.invalid([{ field: `${fieldOf(index)}`, reason: "content nested too deeply" }]);
    }
    throw err;
  }
  if (content !== undefined && writer.needsCheck) {
    const violations = contentViolations(content, contentField(fieldOf(index)));
    if (violations.length > 0) throw ProduceError.invalid(violations);
  }
  return bytes;
}

/** The request path of a log's content: `content` for one log, `items[i].content` in a batch. */
function contentField(logField: string): string {
  return logField === "content" ? "content" : `${logField}.content`;
}
