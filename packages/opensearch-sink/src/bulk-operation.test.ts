import { describe, expect, it } from "@jest/globals";
import { bulkLines, encodeBody, pendingOperation } from "./bulk-operation.js";
import type { BulkOperation } from "./types.js";

const operations: BulkOperation[] = [
  { action: "index", index: "app-2026.01.01", id: "app_logs-3-41", document: '{"msg":"hi","n":1}' },
  { action: "create", index: "app-2026.01.01", id: 'quote"and\\back', document: { b: "é ✓ 😀", n: [1, 2] } },
  { action: "index", index: "other", id: "ünï-cödé\u0001", document: Buffer.from('{"s":"日本語 \\n escaped"}') },
  { action: "index", index: "other", id: "lone\ud800", document: '  {"lone":"\ud800"}' },
  { action: "create", index: "x", id: "k", document: new Uint8Array(Buffer.from(' {"bytes":true}')) },
];

describe("pendingOperation() and encodeBody()", () => {
  it("writes each action line and document as NDJSON, whatever the document's form", () => {
    const serialised = operations.map((op) => pendingOperation(op, 0, () => {}));
    // Written out by hand: the action line is {"<action>":{"_index":…,"_id":…}}, JSON escapes in the id; string and
    // byte documents go through as they are, objects as JSON; a lone surrogate reaches the wire as U+FFFD (UTF-8).
    const expectedPerOperation = [
      '{"index":{"_index":"app-2026.01.01","_id":"app_logs-3-41"}}\n{"msg":"hi","n":1}\n',
      '{"create":{"_index":"app-2026.01.01","_id":"quote\\"and\\\\back"}}\n{"b":"é ✓ 😀","n":[1,2]}\n',
      '{"index":{"_index":"other","_id":"ünï-cödé\\u0001"}}\n{"s":"日本語 \\n escaped"}\n',
      '{"index":{"_index":"other","_id":"lone\\ud800"}}\n  {"lone":"\uFFFD"}\n',
      '{"create":{"_index":"x","_id":"k"}}\n {"bytes":true}\n',
    ];
    const expected = expectedPerOperation.join("");
    const bytes = serialised.reduce((sum, op) => sum + op.bytes, 0);
    const body = encodeBody(serialised, bytes);
    expect(body.toString()).toBe(expected);
    expect(body.length).toBe(Buffer.byteLength(expected));
    // Read back by a JSON parser: every line is JSON, the action lines name the index and the id given.
    const lines = body.toString().split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.filter((_, i) => i % 2 === 0).map((line) => JSON.parse(line))).toEqual(
      operations.map(({ action, index, id }) => ({ [action]: { _index: index, _id: id } })),
    );
    expect(JSON.parse(lines[3] as string)).toEqual({ b: "é ✓ 😀", n: [1, 2] });
    // The line-based form (clients without bulkBody) says the same once encoded.
    expect(Buffer.from(`${bulkLines(serialised).join("\n")}\n`).toString()).toBe(expected);
    expect(serialised.map((op) => op.bytes)).toEqual(expectedPerOperation.map((text) => Buffer.byteLength(text)));
  });

  it("refuses byte documents with raw line breaks or that are not JSON objects", () => {
    const base = { action: "index", index: "a", id: "1" } as const;
    for (const document of [Buffer.from('{"a":\n1}'), Buffer.from('{"a":"\r"}'), Buffer.from("[1]"), Buffer.from("")]) {
      expect(() => pendingOperation({ ...base, document }, 0, () => {})).toThrow(
        expect.objectContaining({ code: "INVALID_OPERATION", field: "document" }),
      );
    }
  });
});
