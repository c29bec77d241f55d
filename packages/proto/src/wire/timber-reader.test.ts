import { randomInt } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { TimberSchema } from "../index.js";
import { TimberReader } from "./timber-reader.js";

const reader = new TimberReader();
const readWireTimber = (value: Uint8Array) => reader.readPlainTimber(value);

const timber = (content: Record<string, unknown> | undefined, timestamp = "2026-01-01T00:00:00Z", prefix = "app") =>
  toBinary(
    TimberSchema,
    create(TimberSchema, {
      context: { kafkaTopic: "k", kafkaPartition: 3, esIndexPrefix: prefix, appMaxTps: 10, disableAppTps: true },
      timestamp,
      ...(content === undefined ? {} : { content: content as never }),
    }),
  );

describe("TimberReader.readPlainTimber()", () => {
  it("reads an ordinary log", () => {
    const wire = readWireTimber(timber({ message: "hi", n: 1.5, tags: ["a", 1], nested: { ok: true } }));
    expect(wire).toEqual({
      indexPrefix: "app",
      appSecret: "",
      timestamp: "2026-01-01T00:00:00Z",
      json: '{"message":"hi","n":1.5,"tags":["a",1],"nested":{"ok":true},"@timestamp":"2026-01-01T00:00:00Z"}',
      hasOwnTimestamp: false,
      ownTimestamp: undefined,
    });
  });

  it("reads the context's app_secret, record after record", () => {
    const withSecret = (appSecret: string) =>
      toBinary(
        TimberSchema,
        create(TimberSchema, { context: { esIndexPrefix: "app", appSecret, appMaxTps: 5 }, content: { m: 1 } }),
      );
    expect(reader.readPlainTimber(withSecret("s3cr3t"))?.appSecret).toBe("s3cr3t");
    expect(reader.readPlainTimber(withSecret("s3cr3t"))?.appSecret).toBe("s3cr3t");
    expect(reader.readPlainTimber(withSecret("other"))?.appSecret).toBe("other");
    expect(reader.readPlainTimber(timber({ m: 1 }))?.appSecret).toBe("");
  });

  it("escapes long strings with every kind of character like JSON.stringify, at any alignment of the record", () => {
    const pieces = ["a", "lorem ipsum ", '"', "\\", "\n", "\u0001", "\u001f", " ", "~", "\u007f", "é", "😀", "ü"];
    for (let i = 0; i < 400; i++) {
      let text = "";
      for (let n = randomInt(80); n > 0; n--) text += pieces[randomInt(i % 4 === 0 ? pieces.length : 2)];
      // Cut by code points: half a surrogate pair would be a different test.
      const key = [...text].slice(0, 20).join("");
      const tail = [...text].slice(3).join("");
      const encoded = timber({ message: text, [key]: tail });
      // A buffer of its own (as the Kafka client hands records over: word-aligned) and copies at offsets 1 to 3.
      for (const offset of [0, 1, 2, 3]) {
        const value = Buffer.from(new ArrayBuffer(encoded.length + offset), offset, encoded.length);
        value.set(encoded);
        expect([text, readWireTimber(value)?.json]).toEqual([
          text,
          JSON.stringify({ message: text, [key]: tail, "@timestamp": "2026-01-01T00:00:00Z" }),
        ]);
      }
    }
  });

  it("leaves records it cannot vouch for to protobuf-es", () => {
    const len = (field: number, body: number[]) => [(field << 3) | 2, body.length, ...body];
    const text = (s: string) => [...Buffer.from(s)];
    const entry = (key: string, value: number[]) => len(1, [...len(1, text(key)), ...len(2, value)]);
    const stringValue = (s: string) => len(3, text(s));
    const context = len(1, len(4, text("app")));
    const cases = {
      "repeated key": [...context, ...len(3, [...entry("a", stringValue("1")), ...entry("a", stringValue("2"))])],
      "__proto__ key": [...context, ...len(3, entry("__proto__", stringValue("x")))],
      "value given twice in one entry": [
        ...context,
        ...len(3, len(1, [...len(1, text("a")), ...len(2, stringValue("1")), ...len(2, stringValue("2"))])),
      ],
      "repeated key past 16 keys": [
        ...context,
        ...len(3, [
          ...Array.from({ length: 20 }, (_, i) => entry(`k${i}`, stringValue("v"))).flat(),
          ...entry("k17", stringValue("again")),
        ]),
      ],
      "missing key and empty key": [
        ...context,
        ...len(3, [...len(1, len(2, stringValue("1"))), ...entry("", stringValue("2"))]),
      ],
      "unknown field": [...context, ...len(9, text("?"))],
      "context twice": [...context, ...context],
      truncated: [...context, (3 << 3) | 2, 50, 1, 2],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect([name, readWireTimber(Uint8Array.from(bytes))]).toEqual([name, undefined]);
    }
  });

  it("leaves invalid UTF-8 to protobuf-es (which refuses the record), but reads U+FFFD itself", () => {
    const ok = Buffer.from(timber({ "k\uFFFD": "\uFFFD" }, "\uFFFD"));
    expect(readWireTimber(ok)?.json).toBe('{"k\uFFFD":"\uFFFD","@timestamp":"\uFFFD"}');
    const len = (field: number, body: number[]) => [(field << 3) | 2, body.length, ...body];
    const bad = [
      [0xff],
      [0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x98],
      [0x61, 0xc0, 0xaf, 0x62],
      [0xf4, 0x90, 0x80, 0x80],
      // After a plain run long enough to be copied whole.
      [...new Array<number>(50).fill(0x61), 0xff],
      [...new Array<number>(50).fill(0x61), 0xe2, 0x82],
    ];
    const plain = [0x61];
    for (const sequence of bad) {
      // The invalid bytes in the key, in the string value, in the timestamp: each alone must send the record away.
      for (const [key, value, timestamp] of [
        [sequence, plain, plain],
        [plain, sequence, plain],
        [plain, plain, sequence],
      ] as const) {
        const content = len(1, [...len(1, [0x6b, ...key]), ...len(2, len(3, [...value, 0x7a]))]);
        const bytes = Uint8Array.from([...len(1, len(4, [0x61])), ...len(2, timestamp), ...len(3, content)]);
        expect(readWireTimber(Buffer.from(bytes))).toBeUndefined();
        expect(() => fromBinary(TimberSchema, bytes)).toThrow();
      }
    }
  });

  it("reads contents with many keys and escaped keys as JSON.stringify writes them", () => {
    const content: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) content[i % 3 === 0 ? `k"${i}\n` : `key_${i}`] = i % 2 === 0 ? `v${i}\u0001` : i;
    const input = Buffer.from(timber(content));
    expect(readWireTimber(input)?.json).toBe(JSON.stringify({ ...content, "@timestamp": "2026-01-01T00:00:00Z" }));
    const own = Buffer.from(timber({ ...content, "@timestamp": 'own "one"' }, "2027-01-01T00:00:00Z"));
    expect(readWireTimber(own)).toMatchObject({
      json: JSON.stringify({ ...content, "@timestamp": 'own "one"' }),
      ownTimestamp: 'own "one"',
    });
    const empty = Buffer.from(timber(undefined, 'ts\n"q"'));
    expect(readWireTimber(empty)?.json).toBe(JSON.stringify({ "@timestamp": 'ts\n"q"' }));
  });

  it("keeps integer-like keys in wire order", () => {
    const input = Buffer.from(timber({ z: 1, "10": "ten", "2": { b: 1, "1": 2 } }));
    // protobuf-es encodes in JavaScript object order, so this is also the wire order.
    expect(readWireTimber(input)?.json).toBe(
      '{"2":{"1":2,"b":1},"10":"ten","z":1,"@timestamp":"2026-01-01T00:00:00Z"}',
    );
  });
});
