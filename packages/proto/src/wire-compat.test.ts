import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { TimberCollectionSchema, TimberContextSchema, TimberSchema } from "./index.js";

// Bytes written by hand from barito-proto's field numbers and wire types, so that a renumbered or retyped
// field in producer.proto fails here instead of silently breaking Go clients.
const expectedContext = Buffer.concat([
  Buffer.from([0x0a, 4, ...Buffer.from("demo")]), // 1: kafka_topic (string)
  Buffer.from([0x10, 3]), // 2: kafka_partition (int32 varint)
  Buffer.from([0x18, 1]), // 3: kafka_replication_factor
  Buffer.from([0x22, 2, ...Buffer.from("ix")]), // 4: es_index_prefix
  Buffer.from([0x2a, 1, ...Buffer.from("t")]), // 5: es_document_type
  Buffer.from([0x30, 10]), // 6: app_max_tps
  Buffer.from([0x3a, 1, ...Buffer.from("s")]), // 7: app_secret
  Buffer.from([0x40, 1]), // 8: disable_app_tps (bool)
  Buffer.from([0x48, 20]), // 9: app_group_max_tps
]);

describe("producer.proto wire compatibility", () => {
  const context = create(TimberContextSchema, {
    kafkaTopic: "demo",
    kafkaPartition: 3,
    kafkaReplicationFactor: 1,
    esIndexPrefix: "ix",
    esDocumentType: "t",
    appMaxTps: 10,
    appSecret: "s",
    disableAppTps: true,
    appGroupMaxTps: 20,
  });

  it("encodes TimberContext with barito-proto's field numbers and types", () => {
    expect(Buffer.from(toBinary(TimberContextSchema, context))).toEqual(expectedContext);
  });

  it("encodes Timber as context=1, timestamp=2, content=3 (google.protobuf.Struct)", () => {
    const timber = create(TimberSchema, { context, timestamp: "2026-01-02T03:04:05Z", content: { fields: {} } });
    const bytes = Buffer.from(toBinary(TimberSchema, timber));
    expect(bytes[0]).toBe(0x0a); // field 1, length-delimited
    expect(bytes[1]).toBe(expectedContext.length);
    const afterContext = 2 + expectedContext.length;
    expect(bytes[afterContext]).toBe(0x12); // field 2, length-delimited
    expect(bytes.subarray(afterContext + 2, afterContext + 22).toString()).toBe("2026-01-02T03:04:05Z");
    expect(bytes[afterContext + 22]).toBe(0x1a); // field 3, length-delimited
  });

  it("round-trips a collection with JSON content through binary", () => {
    const collection = create(TimberCollectionSchema, {
      context,
      items: [create(TimberSchema, { timestamp: "t" })],
    });
    const decoded = fromBinary(TimberCollectionSchema, toBinary(TimberCollectionSchema, collection));
    expect(decoded.context?.kafkaTopic).toBe("demo");
    expect(decoded.items).toHaveLength(1);
    expect(decoded.items[0]?.timestamp).toBe("t");
  });
});
