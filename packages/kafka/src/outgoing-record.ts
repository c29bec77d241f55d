import { invalidArgument, KafkaError } from "./errors.js";
import type { OutgoingRecord } from "./types.js";

/** What the native `send()` takes per record. */
export interface NativeMessage {
  value: Buffer;
  key?: Buffer | string;
  headers?: Record<string, Buffer | string>;
}

const topicNamePattern = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka's own topic-name rule: 1..249 chars of [a-zA-Z0-9._-], and not "." or "..". */
export function topicNameProblem(topic: unknown): string | undefined {
  if (typeof topic !== "string") return "must be a string";
  if (!topicNamePattern.test(topic)) return "must be 1-249 characters of a-z, A-Z, 0-9, '.', '_' or '-'";
  if (topic === "." || topic === "..") return 'must not be "." or ".."';
  return undefined;
}

export function assertTopicName(topic: unknown, field = "topic"): asserts topic is string {
  const problem = topicNameProblem(topic);
  if (problem !== undefined) throw invalidArgument(field, problem);
}

function asBuffer(value: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Validates records and converts them for the native client, rejecting the WHOLE call before anything is produced
 * when one record is malformed or larger than `maxMessageBytes`, so a bad record never leaves a partial write behind.
 * The size counted is value + key + header names and values, which is what librdkafka compares with
 * `message.max.bytes` (it adds a little framing on top, so records within a few dozen bytes of the limit can still be
 * refused by librdkafka itself and come back as MESSAGE_TOO_LARGE from the client).
 */
export function toNativeMessages(records: readonly OutgoingRecord[], maxMessageBytes: number): NativeMessage[] {
  if (!Array.isArray(records)) throw invalidArgument("records", "must be an array");
  return records.map((record, index) => {
    const field = `records[${index}]`;
    if (typeof record !== "object" || record === null) throw invalidArgument(field, "must be an object");
    if (!(record.value instanceof Uint8Array))
      throw invalidArgument(`${field}.value`, "must be a Buffer or Uint8Array");
    const message: NativeMessage = { value: asBuffer(record.value) };
    let size = message.value.byteLength;

    if (record.key !== undefined) {
      if (typeof record.key === "string") size += Buffer.byteLength(record.key);
      else if (Buffer.isBuffer(record.key)) size += record.key.byteLength;
      else throw invalidArgument(`${field}.key`, "must be a string or a Buffer");
      message.key = record.key;
    }

    if (record.headers !== undefined) {
      if (typeof record.headers !== "object" || record.headers === null || Array.isArray(record.headers)) {
        throw invalidArgument(`${field}.headers`, "must be an object of string or Buffer values");
      }
      const headers: Record<string, Buffer | string> = {};
      for (const [name, value] of Object.entries(record.headers)) {
        if (typeof value === "string") size += Buffer.byteLength(value);
        else if (Buffer.isBuffer(value)) size += value.byteLength;
        else throw invalidArgument(`${field}.headers.${name}`, "must be a string or a Buffer");
        size += Buffer.byteLength(name);
        headers[name] = value;
      }
      message.headers = headers;
    }

    if (size > maxMessageBytes) {
      throw new KafkaError(
        "MESSAGE_TOO_LARGE",
        `${field}: ${size} bytes exceed the maximum record size of ${maxMessageBytes} bytes`,
        { retriable: false, field },
      );
    }
    return message;
  });
}
