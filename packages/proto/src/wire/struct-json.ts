import { JsonOutput } from "./json-output.js";
import { NOT_READABLE, PROTO_KEY } from "./wire-cursor.js";

/**
 * google.protobuf.Struct bytes to JSON bytes, keys in wire order (decoding into a JavaScript object first would move
 * integer-like keys such as "10" ahead of the others). Numbers are doubles on the wire; they are written as
 * JavaScript writes them, NaN and the infinities (which JSON cannot hold) as null, as `JSON.stringify` does.
 *
 * Two readings of the same grammar:
 * - strict (`lenient` false): only input whose JSON is beyond doubt. An unknown field or wire type, a key or value
 *   given twice in an entry (protobuf would merge), a repeated or `__proto__` key, invalid UTF-8: not readable.
 * - lenient: the JSON of a Struct protobuf-es has already accepted (so every tag fits in 32 bits). Unknown fields are
 *   skipped, the last key of an entry wins, a repeated key keeps its first position and takes the last value (as an
 *   object would). A value that protobuf would merge (given twice in an entry, or the same struct or list twice in a
 *   Value) is not readable in either reading.
 */

const TIMESTAMP_KEY = Buffer.from("@timestamp");
/** Keys compared byte by byte while a struct has few; past this many, a set of their strings. */
const fewKeys = 16;

/**
 * Structs and lists nested deeper are left to protobuf-es (which refuses them: its recursion limit is lower). A bound
 * of our own, rather than the stack's: how deep the stack lets a recursion go depends on what is below it, and a
 * stack overflow inside the writer is not a place to recover from.
 */
export const MAX_NESTING = 1_000;

export class StructJsonReader extends JsonOutput {
  protected lenient = false;
  /** Structs and lists open around the value being read. */
  private nesting = 0;
  protected override start(bytes: Uint8Array): void {
    super.start(bytes);
    this.nesting = 0;
  }

  /** A double's 8 bytes, copied in whatever alignment the record has, read as one number. */
  private readonly float = new Float64Array(1);
  private readonly floatBytes = new Uint8Array(this.float.buffer);
  /** Where the top-level "@timestamp" value was written in the output (-1: no such key). */
  protected ownTimestampStart = -1;
  protected ownTimestampEnd = -1;
  /**
   * Key spans of the structs being written, innermost last: a struct's keys are the entries from the `keyTop` it
   * started at (one pair of arrays for the reader instead of two per struct).
   */
  private readonly keyStarts: number[] = [];
  private readonly keyEnds: number[] = [];
  private keyTop = 0;
  /** The spans of the map entry `readEntry` read last: an absent key is the empty key, an absent value -1. */
  private keyStart = 0;
  private keyEnd = 0;
  private valueStart = -1;
  private valueEnd = -1;

  protected resetStruct(lenient: boolean): void {
    this.lenient = lenient;
    this.strictText = !lenient;
    this.outLen = 0;
    this.keyTop = 0;
    this.ownTimestampStart = -1;
    this.ownTimestampEnd = -1;
  }

  /** The struct in [pos, end) as a JSON object; `top` marks the content itself (for its "@timestamp"). */
  protected structJson(end: number, top: boolean): void {
    if (this.lenient) {
      this.lenientStructJson(end);
      return;
    }
    this.put(0x7b);
    const base = this.keyTop;
    let seen: Set<string> | undefined;
    let first = true;
    while (this.pos < end) {
      if (this.varint(end) !== 0x0a) throw NOT_READABLE; // fields: map<string, Value> = 1
      const entryEnd = this.readEntry(end);
      const keyStart = this.keyStart;
      const keyEnd = this.keyEnd;
      if (this.isKey(keyStart, keyEnd, PROTO_KEY)) throw NOT_READABLE;
      if (seen) {
        const key = this.text(keyStart, keyEnd);
        if (seen.has(key)) throw NOT_READABLE;
        seen.add(key);
      } else {
        const keyLength = keyEnd - keyStart;
        for (let i = base; i < this.keyTop; i++) {
          const otherStart = this.keyStarts[i] as number;
          if ((this.keyEnds[i] as number) - otherStart === keyLength && this.sameBytes(keyStart, otherStart, keyLength))
            throw NOT_READABLE;
        }
        this.keyStarts[this.keyTop] = keyStart;
        this.keyEnds[this.keyTop] = keyEnd;
        this.keyTop++;
        if (this.keyTop - base >= fewKeys) {
          seen = new Set();
          for (let i = base; i < this.keyTop; i++)
            seen.add(this.text(this.keyStarts[i] as number, this.keyEnds[i] as number));
        }
      }
      if (!first) this.put(0x2c);
      first = false;
      this.putKey(keyStart, keyEnd);
      this.put(0x3a);
      const at = this.outLen;
      this.entryValueJson(entryEnd);
      if (top && this.isKey(keyStart, keyEnd, TIMESTAMP_KEY)) {
        this.ownTimestampStart = at;
        this.ownTimestampEnd = this.outLen;
      }
    }
    this.keyTop = base;
    this.put(0x7d);
  }

  /**
   * Reads the spans of a map entry (`string key = 1; Value value = 2`) starting at its length; returns its end. A value
   * given twice would be merged by protobuf, a key given twice or an unknown field only the lenient reading accepts.
   */
  private readEntry(end: number): number {
    const entryStart = this.span(end);
    const entryEnd = this.pos;
    this.pos = entryStart;
    this.keyStart = entryStart;
    this.keyEnd = entryStart;
    this.valueStart = -1;
    let hasKey = false;
    while (this.pos < entryEnd) {
      const tag = this.varint(entryEnd);
      if (tag === 0x0a && (!hasKey || this.lenient)) {
        this.keyStart = this.span(entryEnd);
        this.keyEnd = this.pos;
        hasKey = true;
      } else if (tag === 0x12 && this.valueStart < 0) {
        this.valueStart = this.span(entryEnd);
        this.valueEnd = this.pos;
      } else if (this.lenient && tag !== 0x12) this.skip(tag & 7, entryEnd);
      else throw NOT_READABLE;
    }
    return entryEnd;
  }

  /** The value of the entry `readEntry` read (null when absent); leaves the cursor at the entry's end. */
  private entryValueJson(entryEnd: number): void {
    if (this.valueStart < 0) this.putAscii("null");
    else {
      this.pos = this.valueStart;
      this.valueJson(this.valueEnd);
    }
    this.pos = entryEnd;
  }

  private lenientStructJson(end: number): void {
    this.put(0x7b);
    const objectStart = this.outLen;
    // Per member: its key's span in the input and its value's span in the output.
    const members: number[] = [];
    let byKey: Map<string, number> | undefined;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag !== 0x0a) {
        this.skip(tag & 7, end);
        continue;
      }
      const entryEnd = this.readEntry(end);
      const keyStart = this.keyStart;
      const keyEnd = this.keyEnd;
      let index = -1;
      if (byKey) index = byKey.get(this.text(keyStart, keyEnd)) ?? -1;
      else {
        const keyLength = keyEnd - keyStart;
        for (let i = 0; i < members.length && index < 0; i += 4) {
          const otherStart = members[i] as number;
          if ((members[i + 1] as number) - otherStart === keyLength && this.sameBytes(keyStart, otherStart, keyLength))
            index = i;
        }
      }
      const at = this.outLen;
      if (index < 0 && this.outLen > objectStart) this.put(0x2c);
      if (index < 0) {
        this.putKey(keyStart, keyEnd);
        this.put(0x3a);
      }
      const valueAt = this.outLen;
      this.entryValueJson(entryEnd);
      if (index >= 0) {
        // A repeated key keeps its first position and takes the last value.
        const value = Buffer.from(this.out.subarray(at, this.outLen));
        this.outLen = at;
        this.replaceValue(members, index, value);
      } else {
        members.push(keyStart, keyEnd, valueAt, this.outLen);
        if (byKey === undefined && members.length >= 4 * fewKeys) {
          byKey = new Map();
          for (let i = 0; i < members.length; i += 4)
            byKey.set(this.text(members[i] as number, members[i + 1] as number), i);
        } else byKey?.set(this.text(keyStart, keyEnd), members.length - 4);
      }
    }
    this.put(0x7d);
  }

  /** Puts `value` in place of member `index`'s value; the members after it move by the difference. */
  private replaceValue(members: number[], index: number, value: Buffer): void {
    const start = members[index + 2] as number;
    const end = members[index + 3] as number;
    const shift = value.length - (end - start);
    this.ensure(Math.max(shift, 0));
    this.out.copy(this.out, end + shift, end, this.outLen);
    value.copy(this.out, start);
    this.outLen += shift;
    members[index + 3] = end + shift;
    for (let i = index + 4; i < members.length; i += 4) {
      members[i + 2] = (members[i + 2] as number) + shift;
      members[i + 3] = (members[i + 3] as number) + shift;
    }
  }

  private listJson(end: number): void {
    this.put(0x5b);
    let first = true;
    while (this.pos < end) {
      const tag = this.varint(end); // values: repeated Value = 1
      if (tag !== 0x0a) {
        if (!this.lenient) throw NOT_READABLE;
        this.skip(tag & 7, end);
        continue;
      }
      const start = this.span(end);
      const valueEnd = this.pos;
      this.pos = start;
      if (!first) this.put(0x2c);
      this.valueJson(valueEnd);
      this.pos = valueEnd;
      first = false;
    }
    this.put(0x5d);
  }

  /**
   * A Value: a oneof, so the last field present wins (each one overwrites what the previous wrote); an empty Value
   * is null (as protobuf-es reads it into a Struct).
   */
  private valueJson(end: number): void {
    const start = this.outLen;
    this.putAscii("null");
    let previous = 0;
    while (this.pos < end) {
      const tag = this.varint(end);
      // The same struct or list given again is merged into the first by protobuf: left to it.
      if (tag === previous && (tag === 0x2a || tag === 0x32)) throw NOT_READABLE;
      if (tag === 0x08) {
        this.outLen = start;
        this.varint(end); // null_value
        this.putAscii("null");
      } else if (tag === 0x11) {
        this.outLen = start;
        if (this.pos + 8 > end) throw NOT_READABLE; // number_value
        for (let i = 0; i < 8; i++) this.floatBytes[i] = this.bytes[this.pos + i] as number;
        this.pos += 8;
        const number = this.float[0] as number;
        this.putAscii(Number.isFinite(number) ? String(number) : "null");
      } else if (tag === 0x1a) {
        this.outLen = start;
        const from = this.span(end); // string_value
        this.putJsonString(from, this.pos);
      } else if (tag === 0x20) {
        this.outLen = start;
        this.putAscii(this.varint(end) !== 0 ? "true" : "false"); // bool_value
      } else if (tag === 0x2a || tag === 0x32) {
        this.outLen = start;
        const from = this.span(end); // struct_value, list_value
        const valueEnd = this.pos;
        this.pos = from;
        if (++this.nesting > MAX_NESTING) throw NOT_READABLE;
        if (tag === 0x2a) this.structJson(valueEnd, false);
        else this.listJson(valueEnd);
        this.nesting--;
        this.pos = valueEnd;
      } else if (this.lenient) {
        this.skip(tag & 7, end); // an unknown field leaves the oneof as it was
        continue;
      } else throw NOT_READABLE;
      previous = tag;
    }
  }
}
