import type { Message } from "@bufbuild/protobuf";
import { Producer, type TimberCollection } from "@barito-flow/proto";
import { TimberReader, WireBytesSchema } from "@barito-flow/proto/wire";

// ProduceBatch requests are parsed as WireBytes and read by @barito-flow/proto/wire's TimberReader, which
// keeps plain items' content as the bytes they arrived in; this file only adapts it to connect.

export { WireBytesSchema };

/** producer.Producer/ProduceBatch with the request read as WireBytes; serve it for binary codecs only. */
export const produceBatchWireMethod = { ...Producer.method.produceBatch, input: WireBytesSchema };

/** The TimberCollection of a request read as WireBytes. Throws fromBinary's error for a malformed request. */
export function collectionFromWire(request: Message): TimberCollection {
  return new TimberReader().readCollectionRequest(request);
}
