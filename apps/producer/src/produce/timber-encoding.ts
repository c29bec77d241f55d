import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

// Hand-written protobuf encoding of producer.Timber whose content (google.protobuf.Struct) is a plain JSON object.
// The reflective toBinary() of protobuf-es dominated the producer's CPU profile; this writes the same bytes
// (checked against toBinary by a property test) in two passes: sizes first, then one preallocated buffer.
//
// Struct  = repeated FieldsEntry fields = 1;        FieldsEntry = { string key = 1; Value value = 2; }
// Value   = oneof { null_value = 1 (varint); number_value = 2 (double); string_value = 3; bool_value = 4;
//                   struct_value = 5; list_value = 6 }       ListValue = { repeated Value values = 1; }

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

// Short strings (keys, levels, ids) are measured and written by a JS loop when they are ASCII: cheaper than a call
// into C++ (Buffer.byteLength / buffer.write) for a handful of bytes. Longer or non-ASCII text goes to Buffer.
const shortText = 48;

function utf8Length(text: string): number {
  if (text.length > shortText) return Buffer.byteLength(text);
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text);
  return text.length;
}

/** Sizes of every length-delimited part, in write order, so the write pass does not recompute them. */
type Sizes = number[];

// The size pass also screens for the rare content that the rules of content-rules.ts concern: a key that is empty,
// starts with whitespace, or with "_" at the top, a dot at a key's start or end, two dots in a row or whitespace next
// to a dot, a key that is another key's dotted prefix ({"a": 1, "a.b": 2}), a number at or
// beyond ±2^63 (or not finite), deep nesting, many keys (each dot counts as one more level and one more field).
// Such content is then checked exactly (`contentNeedsCheck`); the rest costs a comparison per key character and per
// number. Keys with well-formed dots ("http.status_code") stay on this path.
let needsCheck = false;
let keyCount = 0;
/** Dots of the key `keyLengthOf` measured last. */
let keyDots = 0;
// Below these, content cannot break a rule of content-rules.ts (a key adds at most two fields to the mapping).
const screenDepth = 19;
const screenKeys = 499;
const screenNumber = 2 ** 63;

function unicodeSpace(c: number): boolean {
  return c === 0x1680 || (c >= 0x2000 && c <= 0x205f) || c === 0x3000;
}

function keyLengthOf(key: string, depth: number): number {
  const topLevel = depth === 1;
  const length = key.length;
  keyDots = 0;
  // Empty (NaN), starting with whitespace or a control character, "_" at the top level, or a Unicode space.
  const first = key.charCodeAt(0);
  if (!(first > 0x20) || (topLevel && first === 0x5f) || (first >= 0x1680 && unicodeSpace(first))) needsCheck = true;
  if (length > shortText) {
    if (key.includes(".")) needsCheck = true;
    return Buffer.byteLength(key);
  }
  let ascii = true;
  let previous = 0x2e; // a dot first is a dot after "nothing"
  for (let i = 0; i < length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) ascii = false;
    else if (c === 0x2e) {
      keyDots++;
      if (previous <= 0x20 || previous === 0x2e) needsCheck = true;
    } else if (c <= 0x20 && previous === 0x2e) needsCheck = true;
    previous = c;
  }
  if (keyDots > 0 && (previous === 0x2e || !ascii)) needsCheck = true;
  return ascii ? length : Buffer.byteLength(key);
}

/**
 * Whether a key of `object` is another key's dotted prefix ({"a": 1, "a.b": 2}, {"a.b": 1, "a.b.c": 2}): only then can
 * one field be a value in one place and an object in another. Keys that merely share a first part ("http.request.x",
 * "http.response.y") cannot collide.
 */
function prefixKeyOf(object: JsonObject): boolean {
  // Compared in place: slicing the prefixes out to look them up cost more than the rest of the encoding.
  for (const dotted in object) {
    if (dotted.indexOf(".") === -1) continue;
    for (const key in object) {
      if (key.length < dotted.length && dotted.charCodeAt(key.length) === 0x2e && dotted.startsWith(key)) return true;
    }
  }
  return false;
}

/** Whether the content of the last `encodeTimber` call must go through `contentViolations`. */
export function contentNeedsCheck(): boolean {
  return needsCheck;
}

function valueSize(value: JsonValue, sizes: Sizes, depth: number): number {
  if (value === null) return 2;
  switch (typeof value) {
    case "number":
      if (!(value < screenNumber && value > -screenNumber)) needsCheck = true;
      return 9;
    case "boolean":
      return 2;
    case "string": {
      const length = utf8Length(value);
      sizes.push(length);
      return 1 + varintSize(length) + length;
    }
    default: {
      const at = sizes.push(0) - 1;
      if (depth >= screenDepth) needsCheck = true;
      const length = Array.isArray(value)
        ? listSize(value, sizes, depth + 1)
        : structSize(value as JsonObject, sizes, depth + 1);
      sizes[at] = length;
      return 1 + varintSize(length) + length;
    }
  }
}

function listSize(values: JsonValue[], sizes: Sizes, depth: number): number {
  let size = 0;
  for (const value of values) {
    const at = sizes.push(0) - 1;
    const length = valueSize(value, sizes, depth);
    sizes[at] = length;
    size += 1 + varintSize(length) + length;
  }
  return size;
}

function structSize(object: JsonObject, sizes: Sizes, depth: number): number {
  let size = 0;
  let dotted = false;
  for (const key in object) {
    const entryAt = sizes.push(0) - 1;
    const keyLength = keyLengthOf(key, depth);
    const dots = keyDots;
    if (dots > 0) dotted = true;
    keyCount += 1 + dots;
    if (keyCount > screenKeys || depth + dots > screenDepth) needsCheck = true;
    sizes.push(keyLength);
    const valueAt = sizes.push(0) - 1;
    const valueLength = valueSize(object[key] as JsonValue, sizes, depth + dots);
    sizes[valueAt] = valueLength;
    const entry = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
    sizes[entryAt] = entry;
    size += 1 + varintSize(entry) + entry;
  }
  if (dotted && !needsCheck && prefixKeyOf(object)) needsCheck = true;
  return size;
}

class Writer {
  position = 0;
  next = 0;
  constructor(
    readonly buffer: Buffer,
    readonly sizes: Sizes,
  ) {}

  byte(b: number) {
    this.buffer[this.position++] = b;
  }
  varint(n: number) {
    while (n >= 0x80) {
      this.buffer[this.position++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buffer[this.position++] = n;
  }
  text(s: string, length: number) {
    this.varint(length);
    if (length === s.length && length <= shortText) {
      // ASCII (one byte per UTF-16 unit and as many bytes as units)
      const buffer = this.buffer;
      let position = this.position;
      for (let i = 0; i < length; i++) buffer[position++] = s.charCodeAt(i);
      this.position = position;
      return;
    }
    this.position += this.buffer.write(s, this.position, length, "utf8");
  }
  value(value: JsonValue) {
    if (value === null) {
      this.byte(0x08);
      this.byte(0);
      return;
    }
    switch (typeof value) {
      case "number":
        this.byte(0x11);
        this.position = this.buffer.writeDoubleLE(value, this.position);
        return;
      case "boolean":
        this.byte(0x20);
        this.byte(value ? 1 : 0);
        return;
      case "string":
        this.byte(0x1a);
        this.text(value, this.sizes[this.next++] as number);
        return;
      default:
        if (Array.isArray(value)) {
          this.byte(0x32);
          this.varint(this.sizes[this.next++] as number);
          for (const item of value) {
            this.byte(0x0a);
            this.varint(this.sizes[this.next++] as number);
            this.value(item);
          }
        } else {
          this.byte(0x2a);
          this.varint(this.sizes[this.next++] as number);
          this.struct(value as JsonObject);
        }
    }
  }
  struct(object: JsonObject) {
    for (const key in object) {
      this.byte(0x0a);
      this.varint(this.sizes[this.next++] as number);
      this.byte(0x0a);
      this.text(key, this.sizes[this.next++] as number);
      this.byte(0x12);
      this.varint(this.sizes[this.next++] as number);
      this.value(object[key] as JsonValue);
    }
  }
}

/** Timber{context = 1 (pre-encoded TimberContext), timestamp = 2, content = 3}: the bytes toBinary() writes. */
export function encodeTimber(
  contextBytes: Uint8Array | undefined,
  timestamp: string,
  content: JsonObject | undefined,
): Uint8Array {
  const sizes: Sizes = [];
  needsCheck = false;
  keyCount = 0;
  const contentLength = content === undefined ? 0 : structSize(content, sizes, 1);
  const timestampLength = utf8Length(timestamp);
  const total =
    (contextBytes ? 1 + varintSize(contextBytes.byteLength) + contextBytes.byteLength : 0) +
    (timestampLength > 0 ? 1 + varintSize(timestampLength) + timestampLength : 0) +
    (content === undefined ? 0 : 1 + varintSize(contentLength) + contentLength);
  const writer = new Writer(Buffer.allocUnsafe(total), sizes);
  if (contextBytes) {
    writer.byte(0x0a);
    writer.varint(contextBytes.byteLength);
    writer.buffer.set(contextBytes, writer.position);
    writer.position += contextBytes.byteLength;
  }
  if (timestampLength > 0) {
    writer.byte(0x12);
    writer.text(timestamp, timestampLength);
  }
  if (content !== undefined) {
    writer.byte(0x1a);
    writer.varint(contentLength);
    writer.struct(content);
  }
  return writer.buffer;
}

/** Timber{context, timestamp, content} with the content already encoded (a Struct's bytes, copied as they are). */
export function encodeTimberWire(
  contextBytes: Uint8Array | undefined,
  timestamp: string,
  content: Uint8Array,
): Uint8Array {
  const timestampLength = utf8Length(timestamp);
  const total =
    (contextBytes ? 1 + varintSize(contextBytes.byteLength) + contextBytes.byteLength : 0) +
    (timestampLength > 0 ? 1 + varintSize(timestampLength) + timestampLength : 0) +
    1 +
    varintSize(content.byteLength) +
    content.byteLength;
  const writer = new Writer(Buffer.allocUnsafe(total), []);
  if (contextBytes) {
    writer.byte(0x0a);
    writer.varint(contextBytes.byteLength);
    writer.buffer.set(contextBytes, writer.position);
    writer.position += contextBytes.byteLength;
  }
  if (timestampLength > 0) {
    writer.byte(0x12);
    writer.text(timestamp, timestampLength);
  }
  writer.byte(0x1a);
  writer.varint(content.byteLength);
  writer.buffer.set(content, writer.position);
  return writer.buffer;
}
