import { isUtf8 } from "node:buffer";

/**
 * The consumer's hot path for a plain `Timber` record: the index prefix, the timestamp and the content JSON read
 * straight from the wire bytes, without building the protobuf-es message and then a JavaScript object to
 * stringify (together a quarter of the consumer's CPU, and much of its garbage).
 *
 * It only answers for records whose meaning is beyond doubt: any field or wire type the schema does not have, a
 * message field given twice (protobuf would merge them), a repeated or `__proto__` key in a Struct, a truncation —
 * and it returns undefined, so the caller decodes the record the thorough way. Its output is the same JSON as
 * `struct-json.ts` writes (keys in wire order), which is what `JSON.stringify` of the decoded content gives for
 * every document without integer-like keys.
 */

export interface WireTimber {
  indexPrefix: string;
  /** `Timber.timestamp` ("" when absent). */
  timestamp: string;
  /**
   * The document: the content as JSON (`{}` when absent), plus `"@timestamp":` with `Timber.timestamp` at its end
   * when the content has no `@timestamp` of its own and the timestamp is not empty. Written whole in one buffer:
   * appending the timestamp to a finished string made a rope that every later reader had to flatten (a copy).
   * Its UTF-8 bytes instead of a string when asked for (`asBytes`): what the bulk body needs, without a decoding
   * here and an encoding there.
   */
  json: string | Buffer;
  /** The content has a top-level `@timestamp` key... */
  hasOwnTimestamp: boolean;
  /** ...and this is its value when it is a string. */
  ownTimestamp: string | undefined;
}

const BAIL = new Error("not a plain Timber");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);

const EMPTY = new Uint8Array(0);
let bytes: Uint8Array = EMPTY;
let pos = 0;

function varint(end: number): number {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw BAIL;
    const byte = bytes[pos++] as number;
    result += (byte & 0x7f) * multiplier;
    if (byte < 0x80) return result;
    multiplier *= 128;
  }
  throw BAIL;
}

/** Reads a length prefix; returns the start of the field's bytes and leaves `pos` at its end. */
function lengthDelimited(end: number): number {
  const length = varint(end);
  const start = pos;
  if (start + length > end) throw BAIL;
  pos = start + length;
  return start;
}

type Slice = (this: Uint8Array, start: number, end: number) => string;
// Buffer's own UTF-8 reading: native, without a decoder call per string.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: Slice }).utf8Slice;

/** Strict UTF-8, as the protobuf decoder reads strings: it refuses the record (dead letter) on invalid bytes. */
function strict(start: number, end: number): string {
  try {
    return strictUtf8.decode(bytes.subarray(start, end));
  } catch {
    throw BAIL;
  }
}

function text(start: number, end: number): string {
  if (!utf8Slice || !Buffer.isBuffer(bytes)) return strict(start, end);
  const read = utf8Slice.call(bytes, start, end);
  // A replacement character is either in the text or stands for invalid bytes: the strict decoder tells.
  return read.includes("\uFFFD") ? strict(start, end) : read;
}

/**
 * The JSON is written as bytes into one growing scratch buffer and read out as a single string at the end: no
 * string per key, value, escape and concatenation (they were most of the decoding's garbage).
 */
let out = Buffer.allocUnsafe(16 * 1024);
let outLen = 0;

function ensure(extra: number): void {
  if (outLen + extra <= out.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, outLen + extra));
  out.copy(bigger, 0, 0, outLen);
  out = bigger;
}

function put(byte: number): void {
  if (outLen >= out.length) ensure(1);
  out[outLen++] = byte;
}

/** ASCII text (numbers, literals). */
function putAscii(text: string): void {
  ensure(text.length);
  for (let i = 0; i < text.length; i++) out[outLen++] = text.charCodeAt(i);
}

const HEX = "0123456789abcdef";

/** Bytes a JSON string cannot hold as they are (", \, control characters) or that need UTF-8 validation (>= 0x80). */
const NOT_PLAIN = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  NOT_PLAIN[byte] = byte < 0x20 || byte === 0x22 || byte === 0x5c || byte >= 0x80 ? 1 : 0;
}

/** Input bytes [start, end) into `out` as they are: a native copy for long runs, a loop below its call cost. */
function putBytes(start: number, end: number): void {
  if (end - start > 48 && Buffer.isBuffer(bytes)) outLen += bytes.copy(out, outLen, start, end);
  else for (let i = start; i < end; i++) out[outLen++] = bytes[i] as number;
}

/**
 * The input bytes [start, end) as a JSON string literal, escaped exactly as `JSON.stringify` escapes (", \, control
 * characters; nothing else). Invalid UTF-8 bails: the protobuf decoder refuses such a record. The plain run before the
 * first byte that needs a look is found by a table scan and copied whole: log text is mostly plain ASCII, and a
 * read-only scan plus one copy took 0.6 of the time of a loop that checks and writes each byte.
 */
function putJsonString(start: number, end: number): void {
  ensure((end - start) * 6 + 2);
  const input = bytes;
  let plainEnd = start;
  while (plainEnd < end && NOT_PLAIN[input[plainEnd] as number] === 0) plainEnd++;
  out[outLen++] = 0x22;
  putBytes(start, plainEnd);
  const target = out;
  let at = outLen;
  let ascii = true;
  for (let i = plainEnd; i < end; i++) {
    const byte = input[i] as number;
    if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) {
      if (byte >= 0x80) ascii = false;
      target[at++] = byte;
      continue;
    }
    target[at++] = 0x5c;
    if (byte === 0x22 || byte === 0x5c) target[at++] = byte;
    else if (byte === 0x08)
      target[at++] = 0x62; // \b
    else if (byte === 0x09)
      target[at++] = 0x74; // \t
    else if (byte === 0x0a)
      target[at++] = 0x6e; // \n
    else if (byte === 0x0c)
      target[at++] = 0x66; // \f
    else if (byte === 0x0d)
      target[at++] = 0x72; // \r
    else {
      target[at++] = 0x75; // \u00XX
      target[at++] = 0x30;
      target[at++] = 0x30;
      target[at++] = HEX.charCodeAt(byte >> 4);
      target[at++] = HEX.charCodeAt(byte & 15);
    }
  }
  target[at++] = 0x22;
  if (!ascii && !isUtf8(input.subarray(plainEnd, end))) throw BAIL;
  outLen = at;
}

const PROTO_KEY = Buffer.from("__proto__");
const TIMESTAMP_KEY = Buffer.from("@timestamp");

/** Input bytes [aStart, aEnd) equal [bStart, bEnd). Keys are compared as bytes: no string per key. */
function sameBytes(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  const length = aEnd - aStart;
  if (length !== bEnd - bStart) return false;
  for (let i = 0; i < length; i++) if (bytes[aStart + i] !== bytes[bStart + i]) return false;
  return true;
}

function isKey(start: number, end: number, key: Uint8Array): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (bytes[start + i] !== key[i]) return false;
  return true;
}

/** Writes a key: printable ASCII as it is, anything else through the escaping (and UTF-8 validating) writer. */
function putKey(start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x80 || byte < 0x20 || byte === 0x22 || byte === 0x5c) {
      putJsonString(start, end);
      return;
    }
  }
  ensure(end - start + 2);
  out[outLen++] = 0x22;
  putBytes(start, end);
  out[outLen++] = 0x22;
}

/** Where the top-level "@timestamp" value was written in `out` (-1: no such key). */
let ownTimestampStart = -1;
let ownTimestampEnd = -1;

/**
 * Key spans of the structs being written, innermost last: a struct's keys are the entries from the `keyTop` it
 * started at (one pair of arrays for every record instead of two per struct).
 */
const keyStarts: number[] = [];
const keyEnds: number[] = [];
let keyTop = 0;

function structJson(end: number, top: boolean): void {
  put(0x7b);
  // Key spans, compared byte by byte while there are few; past 16 keys, a set of their strings.
  const base = keyTop;
  let seen: Set<string> | undefined;
  let first = true;
  while (pos < end) {
    if (varint(end) !== 0x0a) throw BAIL; // fields: map<string, Value> = 1
    const entryStart = lengthDelimited(end);
    const entryEnd = pos;
    pos = entryStart;
    // No key field is the empty key: an empty span.
    let keyStart = entryStart;
    let keyEnd = entryStart;
    let hasKey = false;
    let valueStart = -1;
    let valueEnd = -1;
    while (pos < entryEnd) {
      const tag = varint(entryEnd);
      if (tag === 0x0a && !hasKey) {
        keyStart = lengthDelimited(entryEnd); // key = 1
        keyEnd = pos;
        hasKey = true;
      } else if (tag === 0x12 && valueStart < 0) {
        valueStart = lengthDelimited(entryEnd); // value = 2 (given twice, protobuf would merge: left to it)
        valueEnd = pos;
      } else throw BAIL;
    }
    // A repeated key keeps its first position and takes the last value: left to struct-json.ts.
    if (isKey(keyStart, keyEnd, PROTO_KEY)) throw BAIL;
    if (seen) {
      const key = text(keyStart, keyEnd);
      if (seen.has(key)) throw BAIL;
      seen.add(key);
    } else {
      for (let i = base; i < keyTop; i++) {
        if (sameBytes(keyStart, keyEnd, keyStarts[i] as number, keyEnds[i] as number)) throw BAIL;
      }
      keyStarts[keyTop] = keyStart;
      keyEnds[keyTop] = keyEnd;
      keyTop++;
      if (keyTop - base >= 16) {
        seen = new Set();
        for (let i = base; i < keyTop; i++) seen.add(text(keyStarts[i] as number, keyEnds[i] as number));
      }
    }
    if (!first) put(0x2c);
    first = false;
    putKey(keyStart, keyEnd);
    put(0x3a);
    const at = outLen;
    if (valueStart < 0) putAscii("null");
    else {
      pos = valueStart;
      valueJson(valueEnd);
    }
    pos = entryEnd;
    if (top && isKey(keyStart, keyEnd, TIMESTAMP_KEY)) {
      ownTimestampStart = at;
      ownTimestampEnd = outLen;
    }
  }
  keyTop = base;
  put(0x7d);
}

function listJson(end: number): void {
  put(0x5b);
  let first = true;
  while (pos < end) {
    if (varint(end) !== 0x0a) throw BAIL; // values: repeated Value = 1
    const start = lengthDelimited(end);
    const valueEnd = pos;
    pos = start;
    if (!first) put(0x2c);
    valueJson(valueEnd);
    pos = valueEnd;
    first = false;
  }
  put(0x5d);
}

function valueJson(end: number): void {
  // A oneof: the last field present wins (each one overwrites what the previous wrote); an empty Value is null (as
  // protobuf-es reads it into a Struct).
  const start = outLen;
  putAscii("null");
  while (pos < end) {
    const tag = varint(end);
    outLen = start;
    if (tag === 0x08) {
      varint(end); // null_value
      putAscii("null");
    } else if (tag === 0x11) {
      if (pos + 8 > end) throw BAIL; // number_value
      for (let i = 0; i < 8; i++) floatBytes[i] = bytes[pos + i] as number;
      pos += 8;
      const number = float[0] as number;
      putAscii(Number.isFinite(number) ? String(number) : "null");
    } else if (tag === 0x1a) {
      const from = lengthDelimited(end); // string_value
      putJsonString(from, pos);
    } else if (tag === 0x20) {
      putAscii(varint(end) !== 0 ? "true" : "false"); // bool_value
    } else if (tag === 0x2a || tag === 0x32) {
      const from = lengthDelimited(end); // struct_value, list_value
      const valueEnd = pos;
      pos = from;
      if (tag === 0x2a) structJson(valueEnd, false);
      else listJson(valueEnd);
      pos = valueEnd;
    } else throw BAIL;
  }
}

/** The last index prefix read, as bytes and text: a topic's records nearly always name the same one. */
let lastPrefixBytes = Buffer.alloc(0);
let lastPrefix = "";

function indexPrefixText(start: number, end: number): string {
  const length = end - start;
  if (length === lastPrefixBytes.length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[start + i] !== lastPrefixBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastPrefix;
  }
  const prefix = text(start, end);
  if (length <= 256) {
    lastPrefixBytes = Buffer.from(bytes.subarray(start, end));
    lastPrefix = prefix;
  }
  return prefix;
}

/** TimberContext: only es_index_prefix (4) is read; the other fields are checked for their wire type and skipped. */
function contextIndexPrefix(end: number): string {
  let prefix = "";
  while (pos < end) {
    const tag = varint(end);
    const field = tag >>> 3;
    const wireType = tag & 7;
    if ((field === 1 || field === 4 || field === 5 || field === 7) && wireType === 2) {
      const start = lengthDelimited(end);
      if (field === 4) prefix = indexPrefixText(start, pos);
    } else if ((field === 2 || field === 3 || field === 6 || field === 8 || field === 9) && wireType === 0) {
      varint(end);
    } else throw BAIL;
  }
  return prefix;
}

/** Reads a plain `Timber`, or returns undefined when the record needs the full decoder (see above). */
export function readWireTimber(value: Uint8Array, asBytes = false): WireTimber | undefined {
  bytes = value;
  pos = 0;
  outLen = 0;
  ownTimestampStart = -1;
  ownTimestampEnd = -1;
  keyTop = 0;
  try {
    const end = value.length;
    let indexPrefix: string | undefined;
    let timestamp = "";
    let timestampStart = 0;
    let timestampEnd = 0;
    let content = false;
    while (pos < end) {
      const tag = varint(end);
      if (tag === 0x0a && indexPrefix === undefined) {
        const start = lengthDelimited(end);
        const contextEnd = pos;
        pos = start;
        indexPrefix = contextIndexPrefix(contextEnd);
      } else if (tag === 0x12) {
        timestampStart = lengthDelimited(end);
        timestampEnd = pos;
        timestamp = text(timestampStart, timestampEnd);
      } else if (tag === 0x1a && !content) {
        const start = lengthDelimited(end);
        const contentEnd = pos;
        pos = start;
        outLen = 0;
        structJson(contentEnd, true);
        content = true;
      } else throw BAIL;
    }
    if (!content) putAscii("{}");
    if (ownTimestampStart < 0 && timestamp !== "") {
      outLen -= 1; // the closing brace
      if (out[outLen - 1] !== 0x7b) put(0x2c);
      putAscii('"@timestamp":');
      putJsonString(timestampStart, timestampEnd);
      put(0x7d);
    }
    let json: string | Buffer;
    if (asBytes) {
      json = Buffer.allocUnsafe(outLen);
      out.copy(json, 0, 0, outLen);
    } else json = out.toString("utf8", 0, outLen);
    const hasOwnTimestamp = ownTimestampStart >= 0;
    return {
      indexPrefix: indexPrefix ?? "",
      timestamp,
      json,
      hasOwnTimestamp,
      ownTimestamp:
        hasOwnTimestamp && out[ownTimestampStart] === 0x22
          ? (JSON.parse(out.toString("utf8", ownTimestampStart, ownTimestampEnd)) as string)
          : undefined,
    };
  } catch (err) {
    // RangeError: nesting deeper than the stack.
    if (err === BAIL || err instanceof RangeError) return undefined;
    throw err;
  } finally {
    bytes = EMPTY;
    // A huge record must not keep a huge scratch buffer.
    if (out.length > 1024 * 1024) out = Buffer.allocUnsafe(16 * 1024);
  }
}
