import { describe, expect, it } from "@jest/globals";
import { actionLine, bulkLines, encodeBody, pendingOperation, sourceText } from "./bulk-operation.js";
import type { BulkOperation } from "./types.js";

const operations: BulkOperation[] = [
  { action: "index", index: "app-2026.01.01", id: "app_logs-3-41", document: '{"msg":"hi","n":1}' },
  { action: "create", index: "app-2026.01.01", id: 'quote"and\\back', document: { b: "é ✓ 😀", n: [1, 2] } },
  { action: "index", index: "other", id: "ünï-cödé\u0001", document: Buffer.from('{"s":"日本語 \\n escaped"}') },
  { action: "index", index: "other", id: "lone\ud800", document: '  {"lone":"\ud800"}' },
  { action: "create", index: "x", id: "k", document: new Uint8Array(Buffer.from(' {"bytes":true}')) },
];

describe("pendingOperation() and encodeBody()", () => {
  it("writes the same NDJSON as JSON.stringify of the action and the document, whatever the document's form", () => {
    const serialised = operations.map((op) => pendingOperation(op, 0, () => {}));
    const expected = operations
      .map(({ action, index, id, document }) => {
        const source =
          typeof document === "string"
            ? document
            : document instanceof Uint8Array
              ? Buffer.from(document).toString()
              : JSON.stringify(document);
        return `${JSON.stringify({ [action]: { _index: index, _id: id } })}\n${source}\n`;
      })
      .join("");
    const bytes = serialised.reduce((sum, op) => sum + op.bytes, 0);
    const body = encodeBody(serialised, bytes);
    expect(body.toString()).toBe(Buffer.from(expected).toString());
    expect(body.length).toBe(Buffer.byteLength(expected));
    // The line-based form (clients without bulkBody) says the same.
    expect(`${bulkLines(serialised).join("\n")}\n`).toBe(expected);
    for (const op of serialised) {
      expect(op.bytes).toBe(Buffer.byteLength(`${actionLine(op)}\n${sourceText(op)}\n`));
    }
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
