/**
 * The reading position in one message's bytes: the varint, length and skip primitives every reader of this package
 * shares. Each reader owns its cursor, so readers on different records never share state.
 *
 * The readers only answer for input whose meaning is beyond doubt and leave the rest to protobuf-es (`fromBinary`):
 * anything they cannot vouch for throws `NOT_READABLE`, which the public methods turn into `undefined`.
 */
export const NOT_READABLE = new Error("not readable by the barito wire reader");

export const WireType = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

/** A key no reader hands on: a JavaScript object would take it for its prototype. */
export const PROTO_KEY = Buffer.from("__proto__");

const EMPTY = new Uint8Array(0);

export class WireCursor {
  protected bytes: Uint8Array = EMPTY;
  protected pos = 0;

  protected start(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
  }

  /** Drops the reference to the record read, so the cursor does not keep it alive. */
  protected release(): void {
    this.bytes = EMPTY;
  }

  /**
   * A varint of up to 10 bytes as a double (exact below 2^53). Read by hand: protobuf-es's `uint32()` wraps values
   * beyond 32 bits, and a length that wraps must be refused here, not read as a shorter field.
   */
  protected varint(end: number): number {
    const bytes = this.bytes;
    let pos = this.pos;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw NOT_READABLE;
      const byte = bytes[pos++] as number;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        this.pos = pos;
        return result;
      }
      multiplier *= 128;
    }
    throw NOT_READABLE;
  }

  /** A varint in its shortest form and below 2^31: the only form `toBinary` writes. */
  protected canonicalVarint(end: number): number {
    const from = this.pos;
    const value = this.varint(end);
    if (value > 0x7fffffff || (this.pos - from > 1 && this.bytes[this.pos - 1] === 0)) throw NOT_READABLE;
    return value;
  }

  /** Reads a length prefix; returns the start of the field's bytes and leaves the cursor at their end. */
  protected span(end: number): number {
    const length = this.varint(end);
    const from = this.pos;
    if (from + length > end) throw NOT_READABLE;
    this.pos = from + length;
    return from;
  }

  /** Skips a field's value by its wire type; groups (3, 4) and unassigned types are not readable. */
  protected skip(wireType: number, end: number): void {
    if (wireType === WireType.varint) this.varint(end);
    else if (wireType === WireType.len) this.span(end);
    else if (wireType === WireType.fixed64 || wireType === WireType.fixed32) {
      const size = wireType === WireType.fixed64 ? 8 : 4;
      if (this.pos + size > end) throw NOT_READABLE;
      this.pos += size;
    } else throw NOT_READABLE;
  }

  /** Input bytes [aStart, aStart + length) equal [bStart, bStart + length): keys compared without a string each. */
  protected sameBytes(aStart: number, bStart: number, length: number): boolean {
    const bytes = this.bytes;
    for (let i = 0; i < length; i++) if (bytes[aStart + i] !== bytes[bStart + i]) return false;
    return true;
  }

  /** Input bytes [start, end) equal `key`. */
  protected isKey(start: number, end: number, key: Uint8Array): boolean {
    if (end - start !== key.length) return false;
    const bytes = this.bytes;
    for (let i = 0; i < key.length; i++) if (bytes[start + i] !== key[i]) return false;
    return true;
  }
}
