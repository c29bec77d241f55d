import type { Message } from "@bufbuild/protobuf";
import type { TimberCollection } from "../gen/producer/producer_pb.js";
import { CanonicalContentReader } from "./canonical-content.js";
import { readCollectionRequest } from "./collection-request.js";
import { StructJsonReader } from "./struct-json.js";
import { NOT_READABLE, WireType } from "./wire-cursor.js";

/** A plain `Timber` read from its bytes, with its content as the document JSON. */
export interface PlainTimber {
  /** `context.es_index_prefix` ("" when absent). */
  indexPrefix: string;
  /** `context.app_secret` ("" when absent): whose log it is, for the counts pushed to BaritoMarket. */
  appSecret: string;
  /** `Timber.timestamp` ("" when absent). */
  timestamp: string;
  /**
   * The document: the content as JSON (`{}` when absent), plus `"@timestamp":` with `Timber.timestamp` at its end
   * when the content has no `@timestamp` of its own and the timestamp is not empty. Written whole in one buffer, so
   * no string is built by appending (a rope that every later reader would flatten). Its UTF-8 bytes when asked for
   * (`asBytes`): what a bulk body needs, without a decoding here and an encoding there.
   */
  json: string | Buffer;
  /** The content has a top-level `@timestamp` key... */
  hasOwnTimestamp: boolean;
  /** ...and this is its value when it is a string. */
  ownTimestamp: string | undefined;
}

/**
 * The reader of barito records: `Timber` and `TimberCollection` bytes to document JSON, in wire key order, without
 * building protobuf-es messages and then JavaScript objects to stringify. One instance per consumer of records: it
 * keeps a scratch output buffer and the last index prefix between calls (not thread-safe across awaits, and it
 * needs none: every call is synchronous).
 */
export class TimberReader extends StructJsonReader {
  /** The last index prefix read, as bytes and text: a topic's records nearly always name the same one. */
  private lastPrefixBytes: Uint8Array = new Uint8Array(0);
  private lastPrefix = "";
  /** The last app secret read, likewise: a topic's records nearly always carry the same one. */
  private lastSecretBytes: Uint8Array = new Uint8Array(0);
  private lastSecret = "";
  /** `app_secret` of the context `contextIndexPrefix` read last. */
  private contextSecret = "";
  private canonical: CanonicalContentReader | undefined;

  /**
   * A plain `Timber`, or undefined when its meaning is in any doubt (a field or wire type the schema does not have, a
   * message field given twice, a repeated or `__proto__` key, invalid UTF-8, truncation, nesting deeper than the
   * stack): then `fromBinary` decides. For every record it reads, the JSON equals `JSON.stringify` of protobuf-es's
   * decoded content (plus the timestamp), except that integer-like keys keep their wire position.
   */
  readPlainTimber(value: Uint8Array, asBytes = false): PlainTimber | undefined {
    this.start(value);
    this.resetStruct(false);
    try {
      const end = value.length;
      let indexPrefix: string | undefined;
      this.contextSecret = "";
      let timestamp = "";
      let timestampStart = 0;
      let timestampEnd = 0;
      let content = false;
      while (this.pos < end) {
        const tag = this.varint(end);
        if (tag === 0x0a && indexPrefix === undefined) {
          const from = this.span(end);
          const contextEnd = this.pos;
          this.pos = from;
          indexPrefix = this.contextIndexPrefix(contextEnd);
        } else if (tag === 0x12) {
          timestampStart = this.span(end);
          timestampEnd = this.pos;
          timestamp = this.text(timestampStart, timestampEnd);
        } else if (tag === 0x1a && !content) {
          const from = this.span(end);
          const contentEnd = this.pos;
          this.pos = from;
          this.outLen = 0;
          this.structJson(contentEnd, true);
          content = true;
        } else throw NOT_READABLE;
      }
      if (!content) this.putAscii("{}");
      if (this.ownTimestampStart < 0 && timestamp !== "") this.appendTimestamp(timestampStart, timestampEnd);
      const hasOwnTimestamp = this.ownTimestampStart >= 0;
      return {
        indexPrefix: indexPrefix ?? "",
        appSecret: this.contextSecret,
        timestamp,
        json: this.output(asBytes),
        hasOwnTimestamp,
        ownTimestamp:
          hasOwnTimestamp && this.out[this.ownTimestampStart] === 0x22
            ? (JSON.parse(this.out.toString("utf8", this.ownTimestampStart, this.ownTimestampEnd)) as string)
            : undefined,
      };
    } catch (err) {
      return notReadable(err);
    } finally {
      this.release();
      this.shrinkOutput();
    }
  }

  /**
   * The `content` of one encoded Timber that protobuf-es has accepted, as JSON in wire key order (`{}` when absent);
   * undefined for a content given twice (protobuf would merge them) or bytes that do not parse.
   */
  contentJson(timber: Uint8Array): string | undefined {
    this.start(timber);
    this.resetStruct(true);
    try {
      const end = timber.length;
      let contentStart = -1;
      let contentEnd = -1;
      while (this.pos < end) {
        const tag = this.varint(end);
        if (tag === 0x1a) {
          if (contentStart >= 0) return undefined;
          contentStart = this.span(end);
          contentEnd = this.pos;
        } else this.skip(tag & 7, end);
      }
      if (contentStart < 0) return "{}";
      this.pos = contentStart;
      this.structJson(contentEnd, false);
      return this.output(false) as string;
    } catch (err) {
      return notReadable(err);
    } finally {
      this.release();
      this.shrinkOutput();
    }
  }

  /** The encoded `items` of a TimberCollection, in order (views into its bytes); undefined when not parseable. */
  collectionItems(collection: Uint8Array): Uint8Array[] | undefined {
    this.start(collection);
    try {
      const items: Uint8Array[] = [];
      const end = collection.length;
      while (this.pos < end) {
        const tag = this.varint(end);
        if (tag === 0x12) {
          const from = this.span(end);
          items.push(collection.subarray(from, this.pos));
        } else this.skip(tag & 7, end);
      }
      return items;
    } catch (err) {
      return notReadable(err);
    } finally {
      this.release();
    }
  }

  /**
   * The TimberCollection of a ProduceBatch request parsed as `WireBytesSchema` (every field left unknown, as on the
   * wire): items of the plain shape (only a content, in the canonical form `toBinary` writes, that no content rule
   * concerns) as `WireContentTimber`s pointing into the request's bytes; any other request through `fromBinary`, with
   * its result and its errors (thrown).
   */
  readCollectionRequest(request: Message): TimberCollection {
    this.canonical ??= new CanonicalContentReader();
    return readCollectionRequest(request, this.canonical);
  }

  /** `,"@timestamp":"<timestamp>"` before the content's closing brace (no comma after `{`). */
  private appendTimestamp(start: number, end: number): void {
    this.outLen -= 1;
    if (this.out[this.outLen - 1] !== 0x7b) this.put(0x2c);
    this.putAscii('"@timestamp":');
    this.putJsonString(start, end);
    this.put(0x7d);
  }

  private indexPrefixText(start: number, end: number): string {
    const length = end - start;
    if (length === this.lastPrefixBytes.length && this.matchesLast(this.lastPrefixBytes, start, length))
      return this.lastPrefix;
    const prefix = this.text(start, end);
    if (length <= 256) {
      this.lastPrefixBytes = Buffer.from(this.bytes.subarray(start, end));
      this.lastPrefix = prefix;
    }
    return prefix;
  }

  private appSecretText(start: number, end: number): string {
    const length = end - start;
    if (length === this.lastSecretBytes.length && this.matchesLast(this.lastSecretBytes, start, length))
      return this.lastSecret;
    const secret = this.text(start, end);
    if (length <= 256) {
      this.lastSecretBytes = Buffer.from(this.bytes.subarray(start, end));
      this.lastSecret = secret;
    }
    return secret;
  }

  private matchesLast(last: Uint8Array, start: number, length: number): boolean {
    for (let i = 0; i < length; i++) if (this.bytes[start + i] !== last[i]) return false;
    return true;
  }

  /**
   * TimberContext: es_index_prefix (4) is returned and app_secret (7) kept in `contextSecret`; the other fields are
   * checked for their wire type and skipped.
   */
  private contextIndexPrefix(end: number): string {
    let prefix = "";
    while (this.pos < end) {
      const tag = this.varint(end);
      const field = tag >>> 3;
      const wireType = tag & 7;
      if ((field === 1 || field === 4 || field === 5 || field === 7) && wireType === WireType.len) {
        const from = this.span(end);
        if (field === 4) prefix = this.indexPrefixText(from, this.pos);
        else if (field === 7) this.contextSecret = this.appSecretText(from, this.pos);
      } else if ((field === 2 || field === 3 || field === 6 || field === 8 || field === 9) && wireType === 0) {
        this.varint(end);
      } else throw NOT_READABLE;
    }
    return prefix;
  }
}

/** Unreadable input and nesting deeper than the stack (RangeError) are "not readable here"; anything else is a bug. */
function notReadable(err: unknown): undefined {
  if (err === NOT_READABLE || err instanceof RangeError) return undefined;
  throw err;
}
