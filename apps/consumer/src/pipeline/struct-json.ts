/**
 * Serialises a Timber's `content` (google.protobuf.Struct) to JSON straight from the wire bytes, so the keys come
 * out in the order the producer wrote them. Decoding into a JavaScript object first moves integer-like keys
 * ("10", "2") ahead of the others. Numbers are doubles on the wire either way; they are written as JavaScript
 * writes them (NaN and infinities, which JSON cannot hold, as null — as JSON.stringify does).
 *
 * Returns undefined for anything unexpected (unknown wire types, truncation), so the caller can fall back to the
 * decoded message: this is an ordering refinement, never a second source of truth.
 */

enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  Fixed32 = 5,
}

class WireError extends Error {}

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError("truncated varint");
      const byte = this.bytes[this.pos++] ?? 0;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    throw new WireError("varint too long");
  }

  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new WireError("truncated field");
    this.pos = start + length;
    return [start, this.pos];
  }

  skip(wireType: number): void {
    if (wireType === WireType.Varint) this.varint();
    else if (wireType === WireType.Fixed64) this.advance(8);
    else if (wireType === WireType.Len) this.span();
    else if (wireType === WireType.Fixed32) this.advance(4);
    else throw new WireError(`unsupported wire type ${wireType}`);
  }

  advance(count: number): void {
    if (this.pos + count > this.end) throw new WireError("truncated field");
    this.pos += count;
  }
}

const utf8 = new TextDecoder();

function structJson(bytes: Uint8Array, start: number, end: number): string {
  // A repeated key replaces the value but keeps its first position, as decoding into an object would.
  const members = new Map<string, string>();
  const reader = new Reader(bytes, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== WireType.Len) {
      reader.skip(tag & 7);
      continue;
    }
    const [entryStart, entryEnd] = reader.span();
    const entry = new Reader(bytes, entryStart, entryEnd);
    let key = "";
    let value = "null";
    while (!entry.done) {
      const entryTag = entry.varint();
      const field = entryTag >>> 3;
      if (field === 1 && (entryTag & 7) === WireType.Len) {
        const [s, e] = entry.span();
        key = utf8.decode(bytes.subarray(s, e));
      } else if (field === 2 && (entryTag & 7) === WireType.Len) {
        const [s, e] = entry.span();
        value = valueJson(bytes, s, e);
      } else entry.skip(entryTag & 7);
    }
    members.set(key, value);
  }
  const parts: string[] = [];
  for (const [key, value] of members) parts.push(`${JSON.stringify(key)}:${value}`);
  return `{${parts.join(",")}}`;
}

function listJson(bytes: Uint8Array, start: number, end: number): string {
  const items: string[] = [];
  const reader = new Reader(bytes, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    if (tag >>> 3 === 1 && (tag & 7) === WireType.Len) {
      const [s, e] = reader.span();
      items.push(valueJson(bytes, s, e));
    } else reader.skip(tag & 7);
  }
  return `[${items.join(",")}]`;
}

function valueJson(bytes: Uint8Array, start: number, end: number): string {
  // A oneof: the last field present wins; an empty Value is null (as protobuf-es reads it into a Struct).
  let json = "null";
  const reader = new Reader(bytes, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === WireType.Varint) {
      reader.varint();
      json = "null";
    } else if (field === 2 && wireType === WireType.Fixed64) {
      const number = new DataView(bytes.buffer, bytes.byteOffset + reader.pos, 8).getFloat64(0, true);
      reader.advance(8);
      json = Number.isFinite(number) ? JSON.stringify(number) : "null";
    } else if (field === 3 && wireType === WireType.Len) {
      const [s, e] = reader.span();
      json = JSON.stringify(utf8.decode(bytes.subarray(s, e)));
    } else if (field === 4 && wireType === WireType.Varint) {
      json = reader.varint() !== 0 ? "true" : "false";
    } else if (field === 5 && wireType === WireType.Len) {
      const [s, e] = reader.span();
      json = structJson(bytes, s, e);
    } else if (field === 6 && wireType === WireType.Len) {
      const [s, e] = reader.span();
      json = listJson(bytes, s, e);
    } else reader.skip(wireType);
  }
  return json;
}

/** `content` of one encoded Timber as JSON text in wire order; `{}` when absent; undefined when not parseable. */
export function timberContentJson(timber: Uint8Array): string | undefined {
  try {
    const reader = new Reader(timber);
    let content: [number, number] | undefined;
    while (!reader.done) {
      const tag = reader.varint();
      if (tag >>> 3 === 3 && (tag & 7) === WireType.Len) {
        // Two content fields would have to be merged (proto semantics): leave that rare case to the decoder.
        if (content) return undefined;
        content = reader.span();
      } else reader.skip(tag & 7);
    }
    return content ? structJson(timber, content[0], content[1]) : "{}";
  } catch (err) {
    if (err instanceof WireError || err instanceof RangeError) return undefined;
    throw err;
  }
}

/** The encoded `items` of a TimberCollection, in order; undefined when not parseable. */
export function collectionItemBytes(collection: Uint8Array): Uint8Array[] | undefined {
  try {
    const items: Uint8Array[] = [];
    const reader = new Reader(collection);
    while (!reader.done) {
      const tag = reader.varint();
      if (tag >>> 3 === 2 && (tag & 7) === WireType.Len) {
        const [s, e] = reader.span();
        items.push(collection.subarray(s, e));
      } else reader.skip(tag & 7);
    }
    return items;
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
}
