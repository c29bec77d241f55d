import { describe, expect, it } from "@jest/globals";
import { type JsonLeaf, JsonScanError, rewriteJsonLeaves } from "./json-leaves.js";

function leaves(json: string): JsonLeaf[] {
  const seen: JsonLeaf[] = [];
  rewriteJsonLeaves(json, (leaf) => {
    seen.push(leaf);
    return undefined;
  });
  return seen;
}

/** Small deterministic JSON generator: nested objects/arrays, escapes, unicode, numbers. */
function randomJson(seed: number): unknown {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const strings = ["", "a", 'q"uote', "back\\slash", "new\nline", "é✓😀", "\u0001", "</tag>", "12"];
  const value = (depth: number): unknown => {
    const pick = next();
    if (depth > 3 || pick < 0.4) {
      const leaf = next();
      if (leaf < 0.4) return strings[Math.floor(next() * strings.length)];
      if (leaf < 0.7) return Math.round((next() - 0.5) * 1e6) / 100;
      if (leaf < 0.8) return null;
      return next() < 0.5;
    }
    if (pick < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    const object: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(next() * 4); i++)
      object[strings[Math.floor(next() * strings.length)] ?? "k"] = value(depth + 1);
    return object;
  };
  return value(0);
}

function upperStrings(value: unknown): unknown {
  if (typeof value === "string") return value.toUpperCase();
  if (Array.isArray(value)) return value.map(upperStrings);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, upperStrings(v)]));
  return value;
}

describe("rewriteJsonLeaves()", () => {
  it("reports string and number leaves with barito's path notation", () => {
    const json = '{"users":{"details":[{"email":"a@b.c","age":42}]},"tags":["x",[1.5e3]],"ok":true,"n":null}';
    expect(leaves(json)).toEqual([
      { kind: "string", path: ".users.details[].email", value: "a@b.c" },
      { kind: "number", path: ".users.details[].age", value: "42" },
      { kind: "string", path: ".tags[]", value: "x" },
      { kind: "number", path: ".tags[][]", value: "1.5e3" },
    ]);
    expect(leaves('"root"')).toEqual([{ kind: "string", path: "", value: "root" }]);
  });

  it("copies everything it does not rewrite byte for byte: key order, number text, spacing, escapes", () => {
    const json = '{ "2": 1, "1": 12345678901234567890123, "s": "\\u0041\\"x", "t": "secret", "z": 1.10 }';
    const result = rewriteJsonLeaves(json, (leaf) => (leaf.value === "secret" ? '"***"' : undefined));
    expect(result).toBe('{ "2": 1, "1": 12345678901234567890123, "s": "\\u0041\\"x", "t": "***", "z": 1.10 }');
    expect(rewriteJsonLeaves(json, () => undefined)).toBe(json);
  });

  it("gives the same result as parse-map-stringify on 300 random documents", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const document = randomJson(seed);
      const json = JSON.stringify(document);
      const rewritten = rewriteJsonLeaves(json, (leaf) =>
        leaf.kind === "string" ? JSON.stringify(leaf.value.toUpperCase()) : undefined,
      );
      expect(rewritten).toBe(JSON.stringify(upperStrings(document)));
    }
  });

  it("handles nesting far deeper than the call stack allows", () => {
    const depth = 200_000;
    const json = `${"[".repeat(depth)}"deep"${"]".repeat(depth)}`;
    const result = rewriteJsonLeaves(json, () => '"x"');
    expect(result.length).toBe(json.length - 3);
  });

  it.each(['{"a":', '{"a":1]', '{"a":"x', "[1,]]", "nope", '{"a":1} 2', '{"a":01x}'])(
    "throws JsonScanError on %s",
    (text) => {
      expect(() => rewriteJsonLeaves(text, () => undefined)).toThrow(JsonScanError);
    },
  );
});
