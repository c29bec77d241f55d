import { describe, expect, it } from "@jest/globals";
import { KafkaError } from "./errors.js";
import { assertTopicName, toNativeMessages, topicNameProblem } from "./outgoing-record.js";
import type { OutgoingRecord } from "./types.js";

function thrownBy(run: () => unknown): KafkaError {
  try {
    run();
  } catch (error) {
    if (error instanceof KafkaError) return error;
    throw error;
  }
  throw new Error("expected a KafkaError");
}

describe("topicNameProblem()", () => {
  it.each(["logs", "barito_app-1.logs", "a", "x".repeat(249), "_internal", "..a"])("accepts %s", (topic) => {
    expect(topicNameProblem(topic)).toBeUndefined();
  });

  it.each(["", ".", "..", "with space", "slash/topic", "ümlaut", "x".repeat(250), "tab\t", undefined, 7, null])(
    "rejects %p",
    (topic) => {
      expect(topicNameProblem(topic)).toEqual(expect.any(String));
    },
  );

  it("assertTopicName() throws INVALID_ARGUMENT naming the given field", () => {
    const error = thrownBy(() => assertTopicName("bad topic", "topics[2]"));
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", field: "topics[2]", retriable: false });
    expect(() => assertTopicName("good.topic")).not.toThrow();
  });
});

describe("toNativeMessages()", () => {
  it("passes values, keys and headers through, with Buffer values unchanged", () => {
    const value = Buffer.from("hello");
    const [message] = toNativeMessages(
      [{ value, key: "app-1", headers: { format: "Timber", raw: Buffer.from([1]) } }],
      100,
    );
    expect(message?.value).toBe(value);
    expect(message?.key).toBe("app-1");
    expect(message?.headers).toEqual({ format: "Timber", raw: Buffer.from([1]) });
  });

  it("wraps a Uint8Array view without copying and without the bytes outside the view", () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    const [message] = toNativeMessages([{ value: view }], 100);
    expect(Buffer.isBuffer(message?.value)).toBe(true);
    expect([...(message?.value ?? [])]).toEqual([1, 2, 3]);
    backing[2] = 7;
    expect(message?.value[0]).toBe(7);
  });

  it("leaves key and headers out when the record has none", () => {
    const [message] = toNativeMessages([{ value: Buffer.alloc(0) }], 100);
    expect(message).toEqual({ value: Buffer.alloc(0) });
  });

  it("returns an empty list for no records", () => {
    expect(toNativeMessages([], 100)).toEqual([]);
  });

  it("counts value + key + header names and values against the limit, in bytes", () => {
    const record: OutgoingRecord = { value: Buffer.alloc(4), key: "k€", headers: { ab: "c€", d: Buffer.alloc(2) } };
    // UTF-8 bytes, not characters: value 4 + key "k€" 4 + "ab" 2 + "c€" 4 + "d" 1 + 2 = 17
    expect(() => toNativeMessages([record], 17)).not.toThrow();
    const error = thrownBy(() => toNativeMessages([{ value: Buffer.alloc(1) }, record], 16));
    expect(error).toMatchObject({ code: "MESSAGE_TOO_LARGE", retriable: false, field: "records[1]" });
    expect(error.message).toContain("17 bytes");
  });

  it("rejects the whole call when any record is malformed, naming the field", () => {
    const cases: Array<[unknown, string]> = [
      ["not an array", "records"],
      [[null], "records[0]"],
      [[{ value: Buffer.from("ok") }, "text"], "records[1]"],
      [[{ value: "text" }], "records[0].value"],
      [[{ value: [1, 2] }], "records[0].value"],
      [[{}], "records[0].value"],
      [[{ value: Buffer.alloc(1), key: 42 }], "records[0].key"],
      [[{ value: Buffer.alloc(1), key: new Uint16Array(1) }], "records[0].key"],
      [[{ value: Buffer.alloc(1), headers: [] }], "records[0].headers"],
      [[{ value: Buffer.alloc(1), headers: "a=b" }], "records[0].headers"],
      [[{ value: Buffer.alloc(1), headers: { retries: 3 } }], "records[0].headers.retries"],
      [[{ value: Buffer.alloc(1), headers: { missing: undefined } }], "records[0].headers.missing"],
    ];
    for (const [records, field] of cases) {
      const error = thrownBy(() => toNativeMessages(records as OutgoingRecord[], 1_000));
      expect({ field: error.field, code: error.code }).toEqual({ field, code: "INVALID_ARGUMENT" });
    }
  });
});
