import { fromBinary, type JsonObject, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import type { Timber } from "../gen/producer/producer_pb.js";

/**
 * A Timber whose content (a google.protobuf.Struct) is kept as the bytes it arrived in. `TimberReader.readCollectionRequest`
 * hands these out only when the bytes are exactly what `toBinary` would write for the decoded content, so a record can
 * copy them (`TimberWriter.encodeWithContentBytes`) instead of decoding the Struct into a JSON object and encoding it
 * again. `content` still works (decoded on first use) for whatever needs the object.
 */
export class WireContentTimber implements Timber {
  readonly $typeName = "producer.Timber" as const;
  context = undefined;
  timestamp = "";
  readonly #wire: Uint8Array;
  #content: JsonObject | undefined;

  constructor(wire: Uint8Array) {
    this.#wire = wire;
  }

  get content(): JsonObject {
    this.#content ??= toJson(StructSchema, fromBinary(StructSchema, this.#wire)) as JsonObject;
    return this.#content;
  }

  /** The encoded Struct, without its field tag and length. */
  static wireOf(timber: Timber): Uint8Array | undefined {
    return #wire in timber ? (timber as WireContentTimber).#wire : undefined;
  }
}

/** Whether a log has content, without decoding content kept as wire bytes. */
export function hasContent(timber: Timber): boolean {
  return WireContentTimber.wireOf(timber) !== undefined || timber.content !== undefined;
}
