import { createHash } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { type Timber, TimberCollectionSchema, type TimberContext, TimberSchema } from "@barito-flow/proto";
import { type PlainTimber, recordHeaders, TimberReader } from "@barito-flow/proto/wire";

/** Records are decoded one at a time, synchronously: one reader (and its scratch buffer) serves them all. */
const reader = new TimberReader();

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  headers: Record<string, Buffer | string>;
}

/** One log ready for the sink: serialised JSON (key order and numbers as received) and its routing. */
export interface LogDocument {
  itemIndex: number;
  id: string;
  indexPrefix: string;
  /** The context's app_secret ("" when none): whose log it is, for the counts pushed to BaritoMarket. */
  appSecret: string;
  timestamp: string;
  /** The JSON text, or (`decodeRecord` with `bytes`, for the records read from the wire) its UTF-8 bytes. */
  json: string | Buffer;
}

export interface DecodeOptions {
  /** The JSON of plain Timber records as UTF-8 bytes (what the bulk body is made of) instead of a string. */
  bytes?: boolean;
}

export type Decoded = { ok: true; documents: LogDocument[] } | { ok: false; errorType: string; reason: string };

const integerLikeKey = /[{,]"(?:0|[1-9]\d*)":/;

function header(record: SourceRecord, name: string): string | undefined {
  const value = record.headers[name];
  return value === undefined ? undefined : value.toString();
}

/**
 * Turns one Kafka record (a barito `Timber`, or a `TimberCollection` when the `message_format` header says so)
 * into documents. Never throws: an undecodable record comes back as `ok: false` for the dead-letter topic.
 */
export function decodeRecord(record: SourceRecord, options?: DecodeOptions): Decoded {
  if (!record.value || record.value.byteLength === 0)
    return { ok: false, errorType: "empty_record", reason: "record has no value" };
  const isCollection = header(record, recordHeaders.messageFormat) === "TimberCollection";
  const wire = isCollection ? undefined : reader.readPlainTimber(record.value, options?.bytes === true);
  if (wire) return plainTimberDocument(record, wire);
  return decodeRecordWithProtobuf(record);
}

/** A plain Timber read from the wire (`TimberReader`): the same document as the decoder below makes of it. */
function plainTimberDocument(record: SourceRecord, wire: PlainTimber): Decoded {
  if (!wire.indexPrefix)
    return { ok: false, errorType: "missing_index_prefix", reason: "item 0: context.es_index_prefix is empty" };
  const json = wire.json; // with "@timestamp" already added when the content has none
  const key = header(record, recordHeaders.idempotencyKey);
  const id =
    key !== undefined ? keyedId(`${key}-${header(record, recordHeaders.idempotencyItem) ?? 0}`) : positionId(record);
  const timestamp = wire.ownTimestamp ?? wire.timestamp;
  const { indexPrefix, appSecret } = wire;
  return { ok: true, documents: [{ itemIndex: 0, id, indexPrefix, appSecret, timestamp, json }] };
}

/** `decodeRecord` through the protobuf-es decoder: collections, and any record the wire reader leaves to it. */
export function decodeRecordWithProtobuf(record: SourceRecord): Decoded {
  if (!record.value || record.value.byteLength === 0)
    return { ok: false, errorType: "empty_record", reason: "record has no value" };
  const isCollection = header(record, recordHeaders.messageFormat) === "TimberCollection";
  let items: Array<{ timber: Timber; context: TimberContext | undefined }>;
  try {
    if (isCollection) {
      const collection = fromBinary(TimberCollectionSchema, record.value);
      // barito-flow semantics: the collection's context applies to every item.
      items = collection.items.map((timber) => ({ timber, context: collection.context ?? timber.context }));
    } else {
      const timber = fromBinary(TimberSchema, record.value);
      items = [{ timber, context: timber.context }];
    }
  } catch (err) {
    return {
      ok: false,
      errorType: "decode_error",
      reason: `not a barito Timber/TimberCollection: ${(err as Error).message}`,
    };
  }
  const key = header(record, recordHeaders.idempotencyKey);
  const keyItem = header(record, recordHeaders.idempotencyItem);
  // The items' own bytes give the content JSON in wire order (`TimberReader.contentJson`); the decoded objects are the
  // fallback.
  const wireItems = isCollection ? reader.collectionItems(record.value) : [record.value];
  const itemBytes = wireItems?.length === items.length ? wireItems : undefined;
  const documents: LogDocument[] = [];
  for (const [index, { timber, context }] of items.entries()) {
    const indexPrefix = context?.esIndexPrefix ?? "";
    if (!indexPrefix)
      return {
        ok: false,
        errorType: "missing_index_prefix",
        reason: `item ${index}: context.es_index_prefix is empty`,
      };
    // protobuf-es exposes google.protobuf.Struct as a plain JSON object, in wire order.
    const content = timber.content ?? {};
    const own = content["@timestamp"];
    const timestamp = typeof own === "string" ? own : timber.timestamp;
    const addTimestamp = !("@timestamp" in content) && timber.timestamp !== "";
    let json = JSON.stringify(addTimestamp ? { ...content, "@timestamp": timber.timestamp } : content);
    // Only integer-like keys are reordered by the object, and only they print as `{"12":` or `,"12":`; the wire
    // pass (half the decoding speed) is spent on those documents alone. A string value that merely looks like it
    // costs the pass, not correctness.
    const bytes = integerLikeKey.test(json) ? itemBytes?.[index] : undefined;
    const wireJson = bytes ? reader.contentJson(bytes) : undefined;
    if (wireJson !== undefined)
      json = !addTimestamp
        ? wireJson
        : `${wireJson === "{}" ? "{" : `${wireJson.slice(0, -1)},`}"@timestamp":${JSON.stringify(timber.timestamp)}}`;
    // Deterministic ids make redelivery overwrite instead of duplicate; an idempotency key also absorbs client retries.
    const id =
      key !== undefined
        ? keyedId(`${key}-${keyItem ?? index}`)
        : isCollection
          ? `${positionId(record)}-${index}`
          : positionId(record);
    documents.push({ itemIndex: index, id, indexPrefix, appSecret: context?.appSecret ?? "", timestamp, json });
  }
  return { ok: true, documents };
}

/** `<topic>-<partition>-` of the last record named: records come in runs of one partition. */
let positionPrefixTopic = "";
let positionPrefixPartition = -1;
let positionPrefix = "";

/** `<topic>-<partition>-<offset>`: the id of a record's document when the producer gave no idempotency key. */
function positionId(record: SourceRecord): string {
  if (record.partition !== positionPrefixPartition || record.topic !== positionPrefixTopic) {
    positionPrefixTopic = record.topic;
    positionPrefixPartition = record.partition;
    positionPrefix = `${record.topic}-${record.partition}-`;
  }
  return positionPrefix + record.offset;
}

const maxIdBytes = 512;

/** OpenSearch refuses ids over 512 bytes; a longer client key is hashed so its retries still collapse into one. */
function keyedId(id: string): string {
  return Buffer.byteLength(id) <= maxIdBytes ? id : `sha256-${createHash("sha256").update(id).digest("hex")}`;
}

/** `<prefix>-YYYY.MM.DD` in UTC, from the document's timestamp, or from processing time when asked or unparsable. */
export function dailyIndex(prefix: string, timestamp: string, useProcessingTime: boolean, now: Date): string {
  const parsed = useProcessingTime ? Number.NaN : Date.parse(timestamp);
  const date = Number.isNaN(parsed) ? now : new Date(parsed);
  const yyyy = date.getUTCFullYear();
  const mm = String(date.getUTCMonth() + 1).padStart(2, "0");
  const dd = String(date.getUTCDate()).padStart(2, "0");
  return `${prefix}-${yyyy}.${mm}.${dd}`;
}

const dayMs = 86_400_000;

/**
 * `dailyIndex` for a stream of documents: the name of the last UTC day seen for each prefix is reused, and the last
 * timestamp parsed, so most documents cost a string comparison. "Processing time" (asked for, or an unparsable
 * timestamp) is the Kafka record's timestamp when it has one: unlike the clock, it is the same when a record is read
 * again after a crash or a rebalance, so a replay across midnight overwrites the document instead of indexing it into
 * the next day too.
 */
export function createDailyIndexer(
  useProcessingTime: boolean,
  now: () => Date,
): (prefix: string, timestamp: string, recordTimestampMs?: number) => string {
  const last = new Map<string, { from: number; name: string }>();
  // The producer stamps every log of a request, and every request of the same second, with the same text.
  let lastTimestamp = "";
  let lastParsed = Number.NaN;
  return (prefix, timestamp, recordTimestampMs = 0) => {
    let parsed = Number.NaN;
    if (!useProcessingTime) {
      if (timestamp !== lastTimestamp) {
        lastTimestamp = timestamp;
        lastParsed = Date.parse(timestamp);
      }
      parsed = lastParsed;
    }
    const at = Number.isNaN(parsed) ? (recordTimestampMs > 0 ? recordTimestampMs : now().getTime()) : parsed;
    const cached = last.get(prefix);
    if (cached && at >= cached.from && at < cached.from + dayMs) return cached.name;
    const name = dailyIndex(prefix, "", true, new Date(at));
    if (last.size >= 1_024) last.clear();
    last.set(prefix, { from: at - (((at % dayMs) + dayMs) % dayMs), name });
    return name;
  };
}
