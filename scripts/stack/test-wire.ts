// Test support for the stack's integration tests: Kafka requests spoken over a raw socket (Metadata v4,
// DescribeQuorum v0, DescribeConfigs v1), so the tests need no client library and check the servers themselves.
// Self-contained on purpose: Jest (swc, CJS) cannot load the stack modules' `.ts`-extension imports.
import { connect } from "node:net";

export const host = "127.0.0.1";

export function exchange(port: number, request: Buffer, complete: (received: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`timeout talking to ${host}:${port}`));
    });
    socket.once("error", reject);
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (complete(received)) {
        socket.destroy();
        resolve(received);
      }
    });
  });
}

export const fullFrame = (received: Buffer): boolean =>
  received.length >= 4 && received.length >= 4 + received.readInt32BE(0);

/** A request frame: header v1 (or v2, with its empty tagged fields, for flexible versions), then the body. */
export function kafkaRequest(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: Buffer,
  flexible = false,
): Buffer {
  const clientId = Buffer.from("stack-it");
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, flexible ? Buffer.from([0]) : Buffer.alloc(0), body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** Reads a response frame field by field (after its size prefix). */
export class Reader {
  private offset = 4;
  private readonly buffer: Buffer;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  int8 = (): number => this.buffer.readInt8(this.offset++);
  int16 = (): number => this.step(2, this.buffer.readInt16BE(this.offset));
  int32 = (): number => this.step(4, this.buffer.readInt32BE(this.offset));
  int64 = (): bigint => this.step(8, this.buffer.readBigInt64BE(this.offset));

  uvarint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.buffer.readUInt8(this.offset++);
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };

  string = (): string | null => this.text(this.int16());
  compactString = (): string | null => this.text(this.uvarint() - 1);

  /** An array: int32 count (classic) or uvarint count + 1 (compact). */
  array = <T>(item: () => T, compact = false): T[] => {
    const count = compact ? this.uvarint() - 1 : this.int32();
    return Array.from({ length: Math.max(0, count) }, item);
  };

  /** Tagged fields of a flexible version (none expected: skipped by their sizes). */
  tags = (): void => {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.offset += this.uvarint();
    }
  };

  private step<T>(size: number, value: T): T {
    this.offset += size;
    return value;
  }

  private text(length: number): string | null {
    if (length < 0) return null;
    const value = this.buffer.toString("utf8", this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

const classicString = (value: string): Buffer => {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
};
const int32 = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
};

export interface PartitionMetadata {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface Metadata {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  topics: { error: number; name: string; partitions: PartitionMetadata[] }[];
}

/** Metadata v4 for `topics` (all when undefined); autoCreate asks the broker to create missing ones. */
export async function kafkaMetadata(port: number, topics?: string[], autoCreate = false): Promise<Metadata> {
  const body = Buffer.concat([
    topics ? Buffer.concat([int32(topics.length), ...topics.map(classicString)]) : int32(-1),
    Buffer.from([autoCreate ? 1 : 0]),
  ]);
  const r = new Reader(await exchange(port, kafkaRequest(3, 4, 11, body), fullFrame));
  r.int32(); // correlation id
  r.int32(); // throttle_time_ms
  const brokers = r.array(() => {
    const broker = { nodeId: r.int32(), host: r.string() ?? "", port: r.int32() };
    r.string(); // rack
    return broker;
  });
  r.string(); // cluster id
  const controllerId = r.int32();
  const topicList = r.array(() => {
    const error = r.int16();
    const name = r.string() ?? "";
    r.int8(); // is_internal
    const partitions = r.array(() => {
      r.int16(); // error_code
      return { partition: r.int32(), leader: r.int32(), replicas: r.array(r.int32), isr: r.array(r.int32) };
    });
    return { error, name, partitions };
  });
  return { brokers, controllerId, topics: topicList };
}

/** DescribeQuorum v0 of the metadata log: the leader and the voters' ids. */
export async function kafkaQuorum(port: number): Promise<{ error: number; leaderId: number; voters: number[] }> {
  const topic = Buffer.from("__cluster_metadata");
  const body = Buffer.concat([
    Buffer.from([2, topic.length + 1]), // one topic, compact name
    topic,
    Buffer.from([2]), // one partition
    int32(0),
    Buffer.from([0, 0, 0]), // partition, topic and request tagged fields
  ]);
  const r = new Reader(await exchange(port, kafkaRequest(55, 0, 12, body, true), fullFrame));
  r.int32(); // correlation id
  r.tags(); // response header v1
  const error = r.int16();
  const partitions = r
    .array(() => {
      r.compactString();
      const list = r.array(() => {
        const partition = { index: r.int32(), error: r.int16(), leaderId: r.int32() };
        r.int32(); // leader epoch
        r.int64(); // high watermark
        const replica = () => {
          const id = r.int32();
          r.int64(); // log end offset
          r.tags();
          return id;
        };
        const voters = r.array(replica, true);
        r.array(replica, true); // observers
        r.tags();
        return { ...partition, voters };
      }, true);
      r.tags();
      return list;
    }, true)
    .flat();
  const first = partitions[0];
  return { error: error || (first?.error ?? -1), leaderId: first?.leaderId ?? -1, voters: first?.voters ?? [] };
}

/** DescribeConfigs v1 of one topic config: its value as the broker resolves it (topic, broker or default). */
export async function kafkaTopicConfig(port: number, topic: string, key: string): Promise<string | null> {
  const body = Buffer.concat([
    int32(1),
    Buffer.from([2]), // resource type TOPIC
    classicString(topic),
    int32(1),
    classicString(key),
    Buffer.from([0]), // include_synonyms
  ]);
  const r = new Reader(await exchange(port, kafkaRequest(32, 1, 13, body), fullFrame));
  r.int32(); // correlation id
  r.int32(); // throttle_time_ms
  const values = r
    .array(() => {
      const error = r.int16();
      const message = r.string();
      if (error !== 0) throw new Error(`DescribeConfigs ${topic}: error ${error} ${message ?? ""}`);
      r.int8(); // resource type
      r.string(); // resource name
      return r.array(() => {
        const entry = { name: r.string(), value: r.string() };
        r.int8(); // read_only
        r.int8(); // config_source
        r.int8(); // is_sensitive
        r.array(() => [r.string(), r.string(), r.int8()]); // synonyms
        return entry;
      });
    })
    .flat();
  return values.find((entry) => entry.name === key)?.value ?? null;
}
