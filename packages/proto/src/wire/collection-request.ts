import { create, createFileRegistry, type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { type TimberCollection, TimberCollectionSchema, TimberContextSchema } from "../gen/producer/producer_pb.js";
import type { CanonicalContentReader } from "./canonical-content.js";
import { WireContentTimber } from "./wire-content.js";

/**
 * `TimberReader.readCollectionRequest`: a TimberCollection request (ProduceBatch) read without decoding every log's Struct into a JSON object only for the
 * records to encode it again.
 *
 * The request is parsed as `WireBytes`, a message without fields, so its top-level fields arrive untouched as unknown
 * fields (a framework such as connect can still do the transport). A batch of the plain shape (context once; items
 * that carry only their content, whose bytes are exactly what `toBinary` would write for the decoded content) becomes
 * a TimberCollection of `WireContentTimber` items pointing into the request's bytes. Anything else is put back
 * together and decoded by `fromBinary`, with the same result and the same errors.
 */

const wireFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "producer/producer_wire.proto",
    package: "producer_wire",
    syntax: "proto3",
    messageType: [{ name: "WireBytes" }],
  }),
  () => undefined,
);
/** A message without fields: every field of what it parses stays in `$unknown`, as it was on the wire. */
export const WireBytesSchema = wireFile.getMessage("producer_wire.WireBytes") as DescMessage;

type UnknownField = NonNullable<Message["$unknown"]>[number];

/** The TimberCollection of a request parsed as `WireBytes`. Throws fromBinary's error for a malformed request. */
export function readCollectionRequest(request: Message, content: CanonicalContentReader): TimberCollection {
  const fields = request.$unknown ?? [];
  return plainCollection(fields, content) ?? fromBinary(TimberCollectionSchema, reassemble(fields));
}

function plainCollection(
  fields: readonly UnknownField[],
  content: CanonicalContentReader,
): TimberCollection | undefined {
  let contextBytes: Uint8Array | undefined;
  const items: WireContentTimber[] = [];
  for (const field of fields) {
    if (field.wireType !== 2) return undefined;
    if (field.no === 1) {
      if (contextBytes !== undefined) return undefined; // repeated context: merged by fromBinary
      contextBytes = field.data;
    } else if (field.no === 2) {
      const wire = content.plainItemContent(field.data);
      if (wire === undefined) return undefined;
      items.push(new WireContentTimber(wire));
    } else return undefined;
  }
  if (contextBytes === undefined) return { $typeName: "producer.TimberCollection", context: undefined, items };
  // The length prefix is part of the field's data; the context itself is small and decoded as usual.
  const bytes = content.lengthPrefixed(contextBytes);
  if (bytes === undefined) return undefined;
  try {
    const context = fromBinary(TimberContextSchema, bytes);
    return context.$unknown === undefined ? { $typeName: "producer.TimberCollection", context, items } : undefined;
  } catch {
    return undefined; // fromBinary of the whole request gives its own error
  }
}

/** The request's bytes again from its top-level fields (tag + data), for fromBinary. */
function reassemble(fields: readonly UnknownField[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const field of fields) writer.tag(field.no, field.wireType).raw(field.data);
  return writer.finish();
}
