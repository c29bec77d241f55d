import { isUtf8 } from "node:buffer";
import { NOT_READABLE, WireCursor } from "./wire-cursor.js";

/**
 * JSON written as bytes into one growing scratch buffer of the reader and read out once at the end: no string per
 * key, value, escape and concatenation.
 */

const HEX = "0123456789abcdef";

/** Bytes a JSON string cannot hold as they are (", \, control characters) or that need UTF-8 validation (>= 0x80). */
const NOT_PLAIN = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  NOT_PLAIN[byte] = byte < 0x20 || byte === 0x22 || byte === 0x5c || byte >= 0x80 ? 1 : 0;
}

// A leading U+FEFF is text like any other: protobuf-es keeps it too.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

type Slice = (this: Uint8Array, start: number, end: number) => string;
// Buffer's own UTF-8 reading: native, without a decoder call per string.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: Slice }).utf8Slice;

const initialSize = 16 * 1024;
/** Never written to: `ensure` replaces it before the first byte. */
const NO_OUTPUT = Buffer.alloc(0);
/** A huge record must not leave a huge scratch buffer behind. */
const keptSize = 1024 * 1024;

export class JsonOutput extends WireCursor {
  /** Allocated on first use: a reader that only scans (the producer's request check) needs none. */
  protected out: Buffer = NO_OUTPUT;
  protected outLen = 0;
  /**
   * Strict: invalid UTF-8 is not readable (protobuf-es refuses the record). Lenient: it is written as U+FFFD, as a
   * non-fatal decoder reads it.
   */
  protected strictText = true;

  protected shrinkOutput(): void {
    if (this.out.length > keptSize) this.out = Buffer.allocUnsafe(initialSize);
  }

  protected ensure(extra: number): void {
    if (this.outLen + extra <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLen + extra, initialSize));
    this.out.copy(bigger, 0, 0, this.outLen);
    this.out = bigger;
  }

  protected put(byte: number): void {
    if (this.outLen >= this.out.length) this.ensure(1);
    this.out[this.outLen++] = byte;
  }

  /** ASCII text (numbers, literals). */
  protected putAscii(text: string): void {
    this.ensure(text.length);
    const out = this.out;
    let at = this.outLen;
    for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
    this.outLen = at;
  }

  /** Input bytes [start, end) into the output as they are: a native copy for long runs, a loop below its call cost. */
  private putBytes(start: number, end: number): void {
    const bytes = this.bytes;
    if (end - start > 48 && Buffer.isBuffer(bytes)) this.outLen += bytes.copy(this.out, this.outLen, start, end);
    else {
      const out = this.out;
      let at = this.outLen;
      for (let i = start; i < end; i++) out[at++] = bytes[i] as number;
      this.outLen = at;
    }
  }

  /**
   * The input bytes [start, end) as a JSON string literal, escaped exactly as `JSON.stringify` escapes (", \, control
   * characters; nothing else). The plain run before the first byte that needs a look is found by a table scan and
   * copied whole: log text is mostly plain ASCII.
   */
  protected putJsonString(start: number, end: number): void {
    this.ensure((end - start) * 6 + 2);
    const input = this.bytes;
    let plainEnd = start;
    while (plainEnd < end && NOT_PLAIN[input[plainEnd] as number] === 0) plainEnd++;
    const from = this.outLen;
    this.out[this.outLen++] = 0x22;
    this.putBytes(start, plainEnd);
    const target = this.out;
    let at = this.outLen;
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
    this.outLen = at;
    if (!ascii && !isUtf8(input.subarray(plainEnd, end))) {
      if (this.strictText) throw NOT_READABLE;
      this.outLen = from;
      this.putStringified(lenientUtf8.decode(input.subarray(start, end)));
    }
  }

  /** A string through `JSON.stringify`: the lenient reader's text with replacement characters. */
  protected putStringified(text: string): void {
    const json = JSON.stringify(text);
    const length = Buffer.byteLength(json);
    this.ensure(length);
    this.outLen += this.out.write(json, this.outLen, length, "utf8");
  }

  /** Writes a key: printable ASCII as it is, anything else through the escaping (and UTF-8 validating) writer. */
  protected putKey(start: number, end: number): void {
    const bytes = this.bytes;
    for (let i = start; i < end; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80 || byte < 0x20 || byte === 0x22 || byte === 0x5c) {
        this.putJsonString(start, end);
        return;
      }
    }
    this.ensure(end - start + 2);
    this.out[this.outLen++] = 0x22;
    this.putBytes(start, end);
    this.out[this.outLen++] = 0x22;
  }

  /** Strict UTF-8, as protobuf-es reads strings. */
  private strictString(start: number, end: number): string {
    try {
      return strictUtf8.decode(this.bytes.subarray(start, end));
    } catch {
      throw NOT_READABLE;
    }
  }

  /** Input bytes [start, end) as text: strict, or lenient (U+FFFD for invalid bytes) for the lenient reader. */
  protected text(start: number, end: number): string {
    const bytes = this.bytes;
    if (!this.strictText) return lenientUtf8.decode(bytes.subarray(start, end));
    if (!utf8Slice || !Buffer.isBuffer(bytes)) return this.strictString(start, end);
    const read = utf8Slice.call(bytes, start, end);
    // A replacement character is either in the text or stands for invalid bytes: the strict decoder tells.
    return read.includes("\uFFFD") ? this.strictString(start, end) : read;
  }

  /** The output so far, as a string or as a buffer of its own. */
  protected output(asBytes: boolean): string | Buffer {
    if (!asBytes) return this.out.toString("utf8", 0, this.outLen);
    const json = Buffer.allocUnsafe(this.outLen);
    this.out.copy(json, 0, 0, this.outLen);
    return json;
  }
}
