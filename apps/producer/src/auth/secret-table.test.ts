import { describe, expect, it } from "@jest/globals";
import { createSecretDigester } from "./secret-digest.js";
import { parseSecretTable, SecretTableError } from "./secret-table.js";

const digester = createSecretDigester();

describe("parseSecretTable", () => {
  it("grants each secret its topics and nothing else", () => {
    const table = parseSecretTable('{"s3cr3t": ["shop", "shop-audit"], "other": ["billing"]}', digester);
    expect(table.size).toBe(2);
    expect([...(table.lookup("s3cr3t")?.topics ?? [])]).toEqual(["shop", "shop-audit"]);
    expect([...(table.lookup("other")?.topics ?? [])]).toEqual(["billing"]);
    for (const wrong of ["", "s3cr3", "s3cr3t ", "S3CR3T", "s3cr3tx", "shop"])
      expect(table.lookup(wrong)).toBeUndefined();
  });

  it("names a broken entry by its position, never by its secret or text", () => {
    const cases: Array<[string, RegExp]> = [
      ['{"hidden-1": ["shop"],', /not valid JSON/],
      ['["hidden-1"]', /must be a JSON object/],
      ["null", /must be a JSON object/],
      ['{"ok": ["a"], "hidden-1": []}', /^entry 2: must list/],
      ['{"hidden-1": "shop"}', /^entry 1: must list/],
      ['{"hidden-1": ["shop", ""]}', /^entry 1: every topic/],
      ['{"  ": ["shop"]}', /^entry 1: the app secret is empty/],
    ];
    for (const [text, expected] of cases) {
      let error: unknown;
      try {
        parseSecretTable(text, digester);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SecretTableError);
      expect((error as Error).message).toMatch(expected);
      expect((error as Error).message).not.toContain("hidden");
    }
  });

  it("digests secrets under a per-process key, to a fixed length", () => {
    const a = createSecretDigester();
    const b = createSecretDigester();
    expect(a.digest("x")).toHaveLength(32);
    expect(a.digest("x".repeat(10_000))).toHaveLength(32);
    expect(a.same(a.digest("x"), a.digest("x"))).toBe(true);
    expect(a.same(a.digest("x"), b.digest("x"))).toBe(false);
    expect(a.same(a.digest("x"), Buffer.alloc(3))).toBe(false);
  });
});
