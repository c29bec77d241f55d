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
  /** The content as JSON (`{}` when absent). */
  json: string;
  /** The content has a top-level `@timestamp` key... */
  hasOwnTimestamp: boolean;
  /** ...and this is its value when it is a string. */
  ownTimestamp: string | undefined;
}

const BAIL = new Error("not a plain Timber");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);

let bytes: Uint8Array = new Uint8Array(0);
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

function jsonText(start: number, end: number): string {
  return JSON.stringify(text(start, end));
}

const EMPTY = new Uint8Array(0);
let topKeys: string[] | undefined;
let topValues: string[] = [];

function structJson(end: number, top: boolean): string {
  let out = "{";
  const keys: string[] = [];
  let seen: Set<string> | undefined;
  while (pos < end) {
    if (varint(end) !== 0x0a) throw BAIL; // fields: map<string, Value> = 1
    const entryStart = lengthDelimited(end);
    const entryEnd = pos;
    pos = entryStart;
    let key: string | undefined;
    let value = "null";
    while (pos < entryEnd) {
      const tag = varint(entryEnd);
      if (tag === 0x0a && key === undefined) {
        const start = lengthDelimited(entryEnd); // key = 1
        key = text(start, pos);
      } else if (tag === 0x12) {
        const start = lengthDelimited(entryEnd); // value = 2
        const valueEnd = pos;
        pos = start;
        value = valueJson(valueEnd);
        pos = valueEnd;
      } else throw BAIL;
    }
    key ??= "";
    // A repeated key keeps its first position and takes the last value: left to struct-json.ts.
    if (key === "__proto__" || (seen ? seen.has(key) : keys.includes(key))) throw BAIL;
    keys.push(key);
    if (seen) seen.add(key);
    else if (keys.length >= 16) seen = new Set(keys);
    const literal = isAsciiKey(key) ? `"${key}"` : JSON.stringify(key);
    out += keys.length === 1 ? `${literal}:${value}` : `,${literal}:${value}`;
    if (top) topValues.push(value);
  }
  if (top) topKeys = keys;
  return `${out}}`;
}

function isAsciiKey(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code >= 0x80 || code < 0x20 || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

function listJson(end: number): string {
  let out = "[";
  let first = true;
  while (pos < end) {
    if (varint(end) !== 0x0a) throw BAIL; // values: repeated Value = 1
    const start = lengthDelimited(end);
    const valueEnd = pos;
    pos = start;
    const value = valueJson(valueEnd);
    pos = valueEnd;
    out += first ? value : `,${value}`;
    first = false;
  }
  return `${out}]`;
}

function valueJson(end: number): string {
  // A oneof: the last field present wins; an empty Value is null (as protobuf-es reads it into a Struct).
  let json = "null";
  while (pos < end) {
    const tag = varint(end);
    if (tag === 0x08) {
      varint(end); // null_value
      json = "null";
    } else if (tag === 0x11) {
      if (pos + 8 > end) throw BAIL; // number_value
      for (let i = 0; i < 8; i++) floatBytes[i] = bytes[pos + i] as number;
      pos += 8;
      const number = float[0] as number;
      json = Number.isFinite(number) ? String(number) : "null";
    } else if (tag === 0x1a) {
      const start = lengthDelimited(end); // string_value
      json = jsonText(start, pos);
    } else if (tag === 0x20) {
      json = varint(end) !== 0 ? "true" : "false"; // bool_value
    } else if (tag === 0x2a || tag === 0x32) {
      const start = lengthDelimited(end); // struct_value, list_value
      const valueEnd = pos;
      pos = start;
      json = tag === 0x2a ? structJson(valueEnd, false) : listJson(valueEnd);
      pos = valueEnd;
    } else throw BAIL;
  }
  return json;
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
      if (field === 4) prefix = text(start, pos);
    } else if ((field === 2 || field === 3 || field === 6 || field === 8 || field === 9) && wireType === 0) {
      varint(end);
    } else throw BAIL;
  }
  return prefix;
}

/** Reads a plain `Timber`, or returns undefined when the record needs the full decoder (see above). */
export function readWireTimber(value: Uint8Array): WireTimber | undefined {
  bytes = value;
  pos = 0;
  topKeys = undefined;
  topValues = [];
  try {
    const end = value.length;
    let indexPrefix: string | undefined;
    let timestamp = "";
    let json: string | undefined;
    while (pos < end) {
      const tag = varint(end);
      if (tag === 0x0a && indexPrefix === undefined) {
        const start = lengthDelimited(end);
        const contextEnd = pos;
        pos = start;
        indexPrefix = contextIndexPrefix(contextEnd);
      } else if (tag === 0x12) {
        const start = lengthDelimited(end);
        timestamp = text(start, pos);
      } else if (tag === 0x1a && json === undefined) {
        const start = lengthDelimited(end);
        const contentEnd = pos;
        pos = start;
        json = structJson(contentEnd, true);
      } else throw BAIL;
    }
    // Set by structJson(); TypeScript cannot see that through the call.
    const keys: string[] = (topKeys as string[] | undefined) ?? [];
    const at = keys.indexOf("@timestamp");
    const own = at < 0 ? undefined : (topValues[at] as string);
    return {
      indexPrefix: indexPrefix ?? "",
      timestamp,
      json: json ?? "{}",
      hasOwnTimestamp: at >= 0,
      ownTimestamp: own?.startsWith('"') ? (JSON.parse(own) as string) : undefined,
    };
  } catch (err) {
    // RangeError: nesting deeper than the stack.
    if (err === BAIL || err instanceof RangeError) return undefined;
    throw err;
  } finally {
    bytes = EMPTY;
    topValues = [];
  }
}
