import { isUtf8 } from "node:buffer";
import { NOT_READABLE, PROTO_KEY, WireCursor } from "./wire-cursor.js";

/**
 * Whether a Struct's bytes are exactly what `toBinary` writes for the JSON object protobuf-es would decode from them,
 * so a producer can copy them into a record instead of decoding and encoding the content again: entries in canonical
 * form, keys unique and none that a JavaScript object would reorder or treat specially, every Value one kind.
 *
 * Content that the content screen concerns (see `TimberWriter.needsCheck`) is not canonical here either, so the
 * caller decodes it and checks it exactly: the same screen, on bytes.
 */

/** Below these, content cannot break a content rule (a key adds at most two fields to the mapping). */
const maxDepth = 18;
const maxKeys = 499;

export class CanonicalContentReader extends WireCursor {
  private keyCount = 0;

  /** The content bytes of an item (`length + Timber`) that holds only `content = 3` in canonical form. */
  plainItemContent(data: Uint8Array): Uint8Array | undefined {
    this.start(data);
    try {
      const end = data.byteLength;
      const itemLength = this.canonicalVarint(end);
      if (this.pos + itemLength !== end || data[this.pos++] !== 0x1a) return undefined;
      const length = this.canonicalVarint(end);
      if (this.pos + length !== end) return undefined;
      const from = this.pos;
      this.keyCount = 0;
      this.struct(end, 0);
      return data.subarray(from, end);
    } catch (err) {
      if (err === NOT_READABLE || err instanceof RangeError) return undefined;
      throw err;
    } finally {
      this.release();
    }
  }

  /** A field's data is `length + bytes`: the bytes, if the length is canonical and covers them exactly. */
  lengthPrefixed(data: Uint8Array): Uint8Array | undefined {
    this.start(data);
    try {
      const length = this.canonicalVarint(data.byteLength);
      return this.pos + length === data.byteLength ? data.subarray(this.pos) : undefined;
    } catch (err) {
      if (err === NOT_READABLE) return undefined;
      throw err;
    } finally {
      this.release();
    }
  }

  /** A canonical length-delimited body that ends exactly at `end`. */
  private bodyTo(end: number): void {
    const length = this.canonicalVarint(end);
    if (this.pos + length !== end) throw NOT_READABLE;
  }

  /** Struct: entries `0a len { 0a len key, 12 len Value }`. */
  private struct(end: number, depth: number): void {
    if (depth > maxDepth) throw NOT_READABLE;
    const keys: number[] = [];
    let dotted = false;
    const bytes = this.bytes;
    while (this.pos < end) {
      if (bytes[this.pos++] !== 0x0a) throw NOT_READABLE;
      const entryLength = this.canonicalVarint(end);
      const entryEnd = this.pos + entryLength;
      if (entryEnd > end || bytes[this.pos++] !== 0x0a) throw NOT_READABLE;
      const keyLength = this.canonicalVarint(entryEnd);
      const keyStart = this.pos;
      this.pos += keyLength;
      if (keyLength === 0 || this.pos >= entryEnd) throw NOT_READABLE;
      // A dot is one more level of objects and one more field in the mapping.
      const dots = this.plainKeyDots(keyStart, this.pos, depth === 0);
      this.keyCount += 1 + dots;
      if (depth + dots > maxDepth || this.keyCount > maxKeys) throw NOT_READABLE;
      if (dots > 0) dotted = true;
      for (let k = 0; k < keys.length; k += 2) {
        if (keys[k + 1] === keyLength && this.sameBytes(keys[k] as number, keyStart, keyLength)) throw NOT_READABLE;
      }
      keys.push(keyStart, keyLength);
      if (bytes[this.pos++] !== 0x12) throw NOT_READABLE;
      this.bodyTo(entryEnd);
      this.value(entryEnd, depth + dots);
    }
    if (this.pos !== end || (dotted && this.prefixKeyOf(keys))) throw NOT_READABLE;
  }

  /** Whether a key (start, length pairs) is another key's dotted prefix: only then can their fields collide. */
  private prefixKeyOf(keys: readonly number[]): boolean {
    for (let d = 0; d < keys.length; d += 2) {
      const start = keys[d] as number;
      const length = keys[d + 1] as number;
      for (let k = 0; k < keys.length; k += 2) {
        const prefix = keys[k + 1] as number;
        if (prefix < length && this.bytes[start + prefix] === 0x2e && this.sameBytes(keys[k] as number, start, prefix))
          return true;
      }
    }
    return false;
  }

  /** Value: exactly one of its kinds, filling [pos, end). */
  private value(end: number, depth: number): void {
    if (this.pos >= end) throw NOT_READABLE;
    const bytes = this.bytes;
    switch (bytes[this.pos++]) {
      case 0x08: // null_value: NULL_VALUE (0) only
        if (bytes[this.pos++] !== 0 || this.pos !== end) throw NOT_READABLE;
        return;
      case 0x11: {
        // number_value: a biased exponent of 1086 or more is ±2^63 and beyond, NaN and the infinities included
        if (this.pos + 8 !== end) throw NOT_READABLE;
        const exponent = (((bytes[this.pos + 7] as number) & 0x7f) << 4) | ((bytes[this.pos + 6] as number) >> 4);
        this.pos = end;
        if (exponent >= 1086) throw NOT_READABLE;
        return;
      }
      case 0x1a: {
        this.bodyTo(end);
        const from = this.pos;
        this.pos = end;
        if (!this.utf8(from, end)) throw NOT_READABLE;
        return;
      }
      case 0x20: // bool_value: 0 or 1 in one byte
        if (((bytes[this.pos++] as number) & 0xfe) !== 0 || this.pos !== end) throw NOT_READABLE;
        return;
      case 0x2a:
        this.bodyTo(end);
        this.struct(end, depth + 1);
        return;
      case 0x32:
        this.bodyTo(end);
        this.list(end, depth + 1);
        return;
      default:
        throw NOT_READABLE;
    }
  }

  /** ListValue: `0a len Value` repeated. */
  private list(end: number, depth: number): void {
    if (depth > maxDepth) throw NOT_READABLE;
    while (this.pos < end) {
      if (this.bytes[this.pos++] !== 0x0a) throw NOT_READABLE;
      const length = this.canonicalVarint(end);
      const valueEnd = this.pos + length;
      if (valueEnd > end) throw NOT_READABLE;
      this.value(valueEnd, depth);
    }
    if (this.pos !== end) throw NOT_READABLE;
  }

  private utf8(start: number, end: number): boolean {
    const bytes = this.bytes;
    // Past a few bytes the native check (SIMD) costs less than this loop, view included.
    if (end - start > 24) return isUtf8(bytes.subarray(start, end));
    for (let i = start; i < end; i++) {
      if ((bytes[i] as number) >= 0x80) return isUtf8(bytes.subarray(start, end));
    }
    return true;
  }

  /**
   * The number of dots of a plain key: valid UTF-8, not starting with a digit (integer-like keys come first in a JS
   * object) or with what may be whitespace, not `__proto__`, at the top level not starting with "_", and with dots
   * only between other characters (none first, last, doubled or next to whitespace, none in a non-ASCII key).
   */
  private plainKeyDots(start: number, end: number, topLevel: boolean): number {
    const bytes = this.bytes;
    const first = bytes[start] as number;
    // Digits; "_" at the top; whitespace and controls; the lead bytes of U+1000-U+3FFF (Unicode spaces among them).
    if ((first >= 0x30 && first <= 0x39) || (topLevel && first === 0x5f) || first <= 0x20) throw NOT_READABLE;
    if (first >= 0xe1 && first <= 0xe3) throw NOT_READABLE;
    if (this.isKey(start, end, PROTO_KEY)) throw NOT_READABLE;
    let ascii = true;
    let dots = 0;
    let previous = 0x2e;
    for (let i = start; i < end; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80) ascii = false;
      else if (byte === 0x2e) {
        dots++;
        if (previous <= 0x20 || previous === 0x2e) throw NOT_READABLE;
      } else if (byte <= 0x20 && previous === 0x2e) throw NOT_READABLE;
      previous = byte;
    }
    if (dots > 0 && (previous === 0x2e || !ascii)) throw NOT_READABLE;
    if (!ascii && !isUtf8(bytes.subarray(start, end))) throw NOT_READABLE;
    return dots;
  }
}
