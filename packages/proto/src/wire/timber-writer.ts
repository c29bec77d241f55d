import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/**
 * The writer of barito records: `Timber` bytes from a pre-encoded TimberContext, the timestamp and a plain JSON
 * content (google.protobuf.Struct), exactly the bytes `toBinary` writes, in two passes: sizes first, then one
 * preallocated buffer. The reflective `toBinary` walks the schema for every value; this walks only the JSON.
 *
 * Struct  = repeated FieldsEntry fields = 1;        FieldsEntry = { string key = 1; Value value = 2; }
 * Value   = oneof { null_value = 1 (varint); number_value = 2 (double); string_value = 3; bool_value = 4;
 *                   struct_value = 5; list_value = 6 }       ListValue = { repeated Value values = 1; }
 *
 * The size pass also screens for the rare content an indexer may refuse or reshape (see `needsCheck`). One instance
 * per caller: the screen's findings belong to the instance's last `encode`.
 */

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

// Below these, content cannot break a content rule (a key adds at most two fields to the mapping).
const screenDepth = 19;
const screenKeys = 499;
const screenNumber = 2 ** 63;

function unicodeSpace(c: number): boolean {
  return c === 0x1680 || (c >= 0x2000 && c <= 0x205f) || c === 0x3000;
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

const EMPTY = Buffer.alloc(0);

export class TimberWriter {
  /** Sizes of every length-delimited part, in write order, so the write pass does not recompute them. */
  private sizes: number[] = [];
  private next = 0;
  private buffer: Buffer = EMPTY;
  private position = 0;
  private screened = false;
  private keyCount = 0;
  /** Dots of the key `keyLengthOf` measured last. */
  private keyDots = 0;

  /**
   * Whether the content of the last `encode` may break a rule of the indexer's dynamic mapping, so the caller must
   * check it exactly: a key that is empty, starts with whitespace, or with "_" at the top, a dot at a key's start or
   * end, two dots in a row or whitespace next to a dot, a key that is another key's dotted prefix ({"a": 1, "a.b": 2}),
   * a number at or beyond ±2^63 (or not finite), deep nesting, many keys (each dot counts as one more level and one
   * more field). The rest costs a comparison per key character and per number; keys with well-formed dots
   * ("http.status_code") do not raise it.
   */
  get needsCheck(): boolean {
    return this.screened;
  }

  /**
   * Timber{context = 1 (pre-encoded TimberContext), timestamp = 2, content = 3}: the bytes `toBinary` writes.
   * Content nested deeper than the stack throws a RangeError.
   */
  encode(contextBytes: Uint8Array | undefined, timestamp: string, content: JsonObject | undefined): Uint8Array {
    this.sizes = [];
    this.next = 0;
    this.screened = false;
    this.keyCount = 0;
    const contentLength = content === undefined ? 0 : this.structSize(content, 1);
    const timestampLength = utf8Length(timestamp);
    const total =
      headSize(contextBytes, timestampLength) +
      (content === undefined ? 0 : 1 + varintSize(contentLength) + contentLength);
    this.writeHead(total, contextBytes, timestamp, timestampLength);
    if (content !== undefined) {
      this.byte(0x1a);
      this.varint(contentLength);
      this.struct(content);
    }
    return this.finish();
  }

  /** Timber{context, timestamp, content} with the content already encoded (a Struct's bytes, copied as they are). */
  encodeWithContentBytes(contextBytes: Uint8Array | undefined, timestamp: string, content: Uint8Array): Uint8Array {
    const timestampLength = utf8Length(timestamp);
    const total = headSize(contextBytes, timestampLength) + 1 + varintSize(content.byteLength) + content.byteLength;
    this.writeHead(total, contextBytes, timestamp, timestampLength);
    this.byte(0x1a);
    this.varint(content.byteLength);
    this.buffer.set(content, this.position);
    this.position += content.byteLength;
    return this.finish();
  }

  private writeHead(total: number, contextBytes: Uint8Array | undefined, timestamp: string, timestampLength: number) {
    this.buffer = Buffer.allocUnsafe(total);
    this.position = 0;
    if (contextBytes) {
      this.byte(0x0a);
      this.varint(contextBytes.byteLength);
      this.buffer.set(contextBytes, this.position);
      this.position += contextBytes.byteLength;
    }
    if (timestampLength > 0) {
      this.byte(0x12);
      this.text(timestamp, timestampLength);
    }
  }

  private finish(): Uint8Array {
    const written = this.buffer;
    // The record is the caller's now; the writer keeps no reference to it.
    this.buffer = EMPTY;
    return written;
  }

  private keyLengthOf(key: string, depth: number): number {
    const topLevel = depth === 1;
    const length = key.length;
    this.keyDots = 0;
    // Empty (NaN), starting with whitespace or a control character, "_" at the top level, or a Unicode space.
    const first = key.charCodeAt(0);
    if (!(first > 0x20) || (topLevel && first === 0x5f) || (first >= 0x1680 && unicodeSpace(first)))
      this.screened = true;
    if (length > shortText) {
      if (key.includes(".")) this.screened = true;
      return Buffer.byteLength(key);
    }
    let ascii = true;
    let dots = 0;
    let previous = 0x2e; // a dot first is a dot after "nothing"
    for (let i = 0; i < length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) ascii = false;
      else if (c === 0x2e) {
        dots++;
        if (previous <= 0x20 || previous === 0x2e) this.screened = true;
      } else if (c <= 0x20 && previous === 0x2e) this.screened = true;
      previous = c;
    }
    this.keyDots = dots;
    if (dots > 0 && (previous === 0x2e || !ascii)) this.screened = true;
    return ascii ? length : Buffer.byteLength(key);
  }

  private valueSize(value: JsonValue, depth: number): number {
    if (value === null) return 2;
    switch (typeof value) {
      case "number":
        if (!(value < screenNumber && value > -screenNumber)) this.screened = true;
        return 9;
      case "boolean":
        return 2;
      case "string": {
        const length = utf8Length(value);
        this.sizes.push(length);
        return 1 + varintSize(length) + length;
      }
      default: {
        const at = this.sizes.push(0) - 1;
        if (depth >= screenDepth) this.screened = true;
        const length = Array.isArray(value)
          ? this.listSize(value, depth + 1)
          : this.structSize(value as JsonObject, depth + 1);
        this.sizes[at] = length;
        return 1 + varintSize(length) + length;
      }
    }
  }

  private listSize(values: JsonValue[], depth: number): number {
    let size = 0;
    for (const value of values) {
      const at = this.sizes.push(0) - 1;
      const length = this.valueSize(value, depth);
      this.sizes[at] = length;
      size += 1 + varintSize(length) + length;
    }
    return size;
  }

  private structSize(object: JsonObject, depth: number): number {
    const sizes = this.sizes;
    let size = 0;
    let dotted = false;
    for (const key in object) {
      const entryAt = sizes.push(0) - 1;
      const keyLength = this.keyLengthOf(key, depth);
      const dots = this.keyDots;
      if (dots > 0) dotted = true;
      this.keyCount += 1 + dots;
      if (this.keyCount > screenKeys || depth + dots > screenDepth) this.screened = true;
      sizes.push(keyLength);
      const valueAt = sizes.push(0) - 1;
      const valueLength = this.valueSize(object[key] as JsonValue, depth + dots);
      sizes[valueAt] = valueLength;
      const entry = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
      sizes[entryAt] = entry;
      size += 1 + varintSize(entry) + entry;
    }
    if (dotted && !this.screened && prefixKeyOf(object)) this.screened = true;
    return size;
  }

  private byte(b: number) {
    this.buffer[this.position++] = b;
  }

  private varint(n: number) {
    while (n >= 0x80) {
      this.buffer[this.position++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buffer[this.position++] = n;
  }

  private text(s: string, length: number) {
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

  private value(value: JsonValue) {
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

  private struct(object: JsonObject) {
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

function headSize(contextBytes: Uint8Array | undefined, timestampLength: number): number {
  return (
    (contextBytes ? 1 + varintSize(contextBytes.byteLength) + contextBytes.byteLength : 0) +
    (timestampLength > 0 ? 1 + varintSize(timestampLength) + timestampLength : 0)
  );
}
