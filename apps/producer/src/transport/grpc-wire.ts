import { isUtf8 } from "node:buffer";
import { create, createFileRegistry, type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Producer, type TimberCollection, TimberCollectionSchema, TimberContextSchema } from "@barito-flow/proto";
import { WireContentTimber } from "../produce/wire-content.js";

// ProduceBatch requests read without protobuf-es's reflective fromBinary, which decoded every log's Struct into a JSON
// object (only for the records to encode it again) and was the largest item of the producer's gRPC profile.
//
// connect still does the transport (envelopes, compression, size limits, errors); it parses the request as
// `WireBytes`, a message without fields, so the request's top-level fields arrive untouched as unknown fields. A
// batch of the plain shape (context once; items that carry only their content, whose bytes are exactly what toBinary
// would write for the decoded content) becomes a TimberCollection of WireContentTimber items pointing into the
// request's bytes. Anything else is put back together and decoded by fromBinary as before, with the same result and
// the same errors.

const wireFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "producer/producer_wire.proto",
    package: "producer_wire",
    syntax: "proto3",
    messageType: [{ name: "WireBytes" }],
  }),
  () => undefined,
);
export const WireBytesSchema = wireFile.getMessage("producer_wire.WireBytes") as DescMessage;

/** producer.Producer/ProduceBatch with the request read as WireBytes; serve it for binary codecs only. */
export const produceBatchWireMethod = { ...Producer.method.produceBatch, input: WireBytesSchema };

type UnknownField = NonNullable<Message["$unknown"]>[number];

/** The TimberCollection of a request read as WireBytes. Throws fromBinary's error for a malformed request. */
export function collectionFromWire(request: Message): TimberCollection {
  const fields = request.$unknown ?? [];
  return plainCollection(fields) ?? fromBinary(TimberCollectionSchema, reassemble(fields));
}

function plainCollection(fields: readonly UnknownField[]): TimberCollection | undefined {
  let contextBytes: Uint8Array | undefined;
  const items: WireContentTimber[] = [];
  for (const field of fields) {
    if (field.wireType !== 2) return undefined;
    if (field.no === 1) {
      if (contextBytes !== undefined) return undefined; // repeated context: merged by fromBinary
      contextBytes = field.data;
    } else if (field.no === 2) {
      const content = plainItemContent(field.data);
      if (content === undefined) return undefined;
      items.push(new WireContentTimber(content));
    } else return undefined;
  }
  if (contextBytes === undefined) return { $typeName: "producer.TimberCollection", context: undefined, items };
  // The length prefix is part of the field's data; the context itself is small and decoded as usual.
  const bytes = lengthPrefixed(contextBytes);
  if (bytes === undefined) return undefined;
  try {
    const context = fromBinary(TimberContextSchema, bytes);
    return context.$unknown === undefined ? { $typeName: "producer.TimberCollection", context, items } : undefined;
  } catch {
    return undefined; // fromBinary of the whole request gives its own error
  }
}

// The reader's position, shared by the functions below (no allocation per varint).
let at = 0;

/** A minimally encoded varint below 2^31 at `at`, or -1. */
function varint(buf: Uint8Array, end: number): number {
  if (at >= end) return -1;
  let byte = buf[at++] as number;
  if (byte < 0x80) return byte;
  let result = byte & 0x7f;
  let scale = 128;
  for (let i = 1; i < 5; i++) {
    if (at >= end) return -1;
    byte = buf[at++] as number;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return byte === 0 || result > 0x7fffffff ? -1 : result;
    scale *= 128;
  }
  return -1;
}

/** A field's data is `length + bytes`; the bytes, if the length is well formed and covers it exactly. */
function lengthPrefixed(data: Uint8Array): Uint8Array | undefined {
  at = 0;
  const length = varint(data, data.byteLength);
  return length >= 0 && at + length === data.byteLength ? data.subarray(at) : undefined;
}

/** The content bytes of an item that holds only `content = 3`, in canonical form; otherwise undefined. */
function plainItemContent(data: Uint8Array): Uint8Array | undefined {
  at = 0;
  const end = data.byteLength;
  const itemLength = varint(data, end);
  if (itemLength < 0 || at + itemLength !== end) return undefined;
  if (data[at++] !== 0x1a) return undefined;
  const length = varint(data, end);
  if (length < 0 || at + length !== end) return undefined;
  const start = at;
  keyCount = 0;
  return struct(data, end, 0) && at === end ? data.subarray(start, end) : undefined;
}

// Content that the rules of produce/content-rules.ts concern is left to fromBinary too, and the records of decoded
// content get the exact check: the screen is that of the JSON encoder (timber-encoding.ts), on bytes.
const maxDepth = 18;
const maxKeys = 499;
let keyCount = 0;

/** Struct: entries `0a len { 0a len key, 12 len Value }`, keys unique, none that JS objects would reorder. */
function struct(buf: Uint8Array, end: number, depth: number): boolean {
  if (depth > maxDepth) return false;
  let keys: number[] | undefined;
  let dotted = false;
  while (at < end) {
    if (buf[at++] !== 0x0a) return false;
    const entryLength = varint(buf, end);
    const entryEnd = at + entryLength;
    if (entryLength < 0 || entryEnd > end) return false;
    if (buf[at++] !== 0x0a) return false;
    const keyLength = varint(buf, entryEnd);
    const keyStart = at;
    at += keyLength;
    // A dot is one more level of objects and one more field in the mapping.
    const dots = keyLength > 0 && at < entryEnd ? plainKeyDots(buf, keyStart, at, depth === 0) : -1;
    keyCount += 1 + dots;
    if (dots < 0 || depth + dots > maxDepth || keyCount > maxKeys) return false;
    if (dots > 0) dotted = true;
    keys ??= [];
    for (let k = 0; k < keys.length; k += 2) {
      if (keys[k + 1] === keyLength && sameBytes(buf, keys[k] as number, buf, keyStart, keyLength)) return false;
    }
    keys.push(keyStart, keyLength);
    if (buf[at++] !== 0x12) return false;
    const valueLength = varint(buf, entryEnd);
    if (valueLength < 0 || at + valueLength !== entryEnd || !value(buf, entryEnd, depth + dots)) return false;
  }
  return at === end && !(dotted && keys !== undefined && prefixKeyOf(buf, keys));
}

/** Whether a key (start, length pairs) is another key's dotted prefix: only then can their fields collide. */
function prefixKeyOf(buf: Uint8Array, keys: readonly number[]): boolean {
  for (let d = 0; d < keys.length; d += 2) {
    const start = keys[d] as number;
    const length = keys[d + 1] as number;
    for (let k = 0; k < keys.length; k += 2) {
      const prefix = keys[k + 1] as number;
      if (prefix < length && buf[start + prefix] === 0x2e && sameBytes(buf, keys[k] as number, buf, start, prefix))
        return true;
    }
  }
  return false;
}

/** Value: exactly one of its kinds, filling [at, end). */
function value(buf: Uint8Array, end: number, depth: number): boolean {
  if (at >= end) return false;
  switch (buf[at++]) {
    case 0x08: // null_value: NULL_VALUE (0) only
      return buf[at++] === 0 && at === end;
    case 0x11: {
      // number_value: a biased exponent of 1086 or more is ±2^63 and beyond, NaN and the infinities included
      if (at + 8 !== end) return false;
      const exponent = (((buf[at + 7] as number) & 0x7f) << 4) | ((buf[at + 6] as number) >> 4);
      at = end;
      return exponent < 1086;
    }
    case 0x1a: {
      const length = varint(buf, end);
      const start = at;
      at += length;
      return length >= 0 && at === end && utf8(buf, start, end);
    }
    case 0x20: // bool_value: 0 or 1 in one byte
      return ((buf[at++] as number) & 0xfe) === 0 && at === end;
    case 0x2a: {
      const length = varint(buf, end);
      return length >= 0 && at + length === end && struct(buf, end, depth + 1);
    }
    case 0x32: {
      const length = varint(buf, end);
      return length >= 0 && at + length === end && list(buf, end, depth + 1);
    }
    default:
      return false;
  }
}

/** ListValue: `0a len Value` repeated. */
function list(buf: Uint8Array, end: number, depth: number): boolean {
  if (depth > maxDepth) return false;
  while (at < end) {
    if (buf[at++] !== 0x0a) return false;
    const length = varint(buf, end);
    const valueEnd = at + length;
    if (length < 0 || valueEnd > end || !value(buf, valueEnd, depth)) return false;
  }
  return at === end;
}

function utf8(buf: Uint8Array, start: number, end: number): boolean {
  // Past a few bytes the native check (SIMD) costs less than this loop, view included.
  if (end - start > 24) return isUtf8(buf.subarray(start, end));
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) return isUtf8(buf.subarray(start, end));
  }
  return true;
}

/**
 * The number of dots of a plain key, or -1: valid UTF-8, not starting with a digit (integer-like keys come first in a
 * JS object) or with what may be whitespace, not `__proto__`, at the top level not starting with "_", and with dots
 * only between other characters (none first, last, doubled or next to whitespace, none in a non-ASCII key).
 */
function plainKeyDots(buf: Uint8Array, start: number, end: number, topLevel: boolean): number {
  const first = buf[start] as number;
  // Digits; "_" at the top; whitespace and controls; the lead bytes of U+1000-U+3FFF (Unicode spaces among them).
  if ((first >= 0x30 && first <= 0x39) || (topLevel && first === 0x5f) || first <= 0x20) return -1;
  if (first >= 0xe1 && first <= 0xe3) return -1;
  if (end - start === protoKey.byteLength && sameBytes(protoKey, 0, buf, start, protoKey.byteLength)) return -1;
  let ascii = true;
  let dots = 0;
  let previous = 0x2e;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    if (byte >= 0x80) ascii = false;
    else if (byte === 0x2e) {
      dots++;
      if (previous <= 0x20 || previous === 0x2e) return -1;
    } else if (byte <= 0x20 && previous === 0x2e) return -1;
    previous = byte;
  }
  if (dots > 0 && (previous === 0x2e || !ascii)) return -1;
  return ascii || isUtf8(buf.subarray(start, end)) ? dots : -1;
}
const protoKey = Buffer.from("__proto__");

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** The request's bytes again from its top-level fields (tag + data), for fromBinary. */
function reassemble(fields: readonly UnknownField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    let tag = field.no * 8 + field.wireType;
    const bytes: number[] = [];
    while (tag >= 0x80) {
      bytes.push((tag & 0x7f) | 0x80);
      tag = Math.floor(tag / 128);
    }
    bytes.push(tag);
    parts.push(Uint8Array.from(bytes), field.data);
  }
  return Buffer.concat(parts);
}
