import { describe, expect, it } from "@jest/globals";
import { compileGoRegex, parseRulesMap, RulesFormatError } from "./rules.js";

describe("parseRulesMap()", () => {
  it("reads BaritoMarket's format, field names matched case-insensitively like Go's encoding/json", () => {
    const { rules, rejected } = parseRulesMap(
      JSON.stringify({
        default: {
          StaticRules: [{ Name: "EMAIL", Regex: "[a-z]+@[a-z.]+", HintCharsStart: 2, HintCharsEnd: 0 }],
          JsonPathRules: [{ Name: "PHONE", Path: "\\.phone$" }],
        },
        "app-a": { staticrules: [{ name: "PIN", regex: "\\d{6}", hintcharsend: 1 }] },
      }),
    );
    expect(rejected).toEqual([]);
    const defaults = rules.get("default");
    expect(defaults?.staticRules).toHaveLength(1);
    expect(defaults?.staticRules[0]).toMatchObject({ name: "EMAIL", hintCharsStart: 2, hintCharsEnd: 0 });
    expect(defaults?.jsonPathRules[0]).toMatchObject({ name: "PHONE", hintCharsStart: 0, hintCharsEnd: 0 });
    expect(rules.get("app-a")?.staticRules[0]).toMatchObject({ name: "PIN", hintCharsEnd: 1 });
    expect(rules.get("app-a")?.jsonPathRules).toEqual([]);
  });

  it("accepts {} (redaction inactive in the market) and null app entries", () => {
    expect(parseRulesMap("{}").rules.size).toBe(0);
    expect(parseRulesMap({ default: null }).rules.get("default")).toEqual({ staticRules: [], jsonPathRules: [] });
  });

  it("leaves out each invalid rule with a machine-readable reason and keeps the valid ones", () => {
    const { rules, rejected } = parseRulesMap({
      default: {
        StaticRules: [
          { Name: "BAD", Regex: "([a-z" },
          { Name: "OK", Regex: "secret" },
          { Name: "EMPTY", Regex: "x*" },
          { Name: "NEG", Regex: "y", HintCharsStart: -1 },
          { Name: "FRACTION", Regex: "y", HintCharsEnd: 1.5 },
          { Name: "", Regex: "y" },
          { Name: "UNGREEDY", Regex: "(?U)a+" },
          "not a rule",
        ],
        JsonPathRules: { Name: "not a list" },
      },
      broken: "nope",
    });
    expect(rules.get("default")?.staticRules.map((r) => r.name)).toEqual(["OK"]);
    expect(rules.has("broken")).toBe(false);
    expect(rejected.map((r) => [r.app, r.type, r.index, r.code])).toEqual([
      ["default", "StaticRules", 0, "invalid_regex"],
      ["default", "StaticRules", 2, "empty_match"],
      ["default", "StaticRules", 3, "invalid_hint"],
      ["default", "StaticRules", 4, "invalid_hint"],
      ["default", "StaticRules", 5, "invalid_name"],
      ["default", "StaticRules", 6, "unsupported_regex"],
      ["default", "StaticRules", 7, "not_an_object"],
      ["default", "JsonPathRules", -1, "not_an_array"],
      ["broken", "app", -1, "not_an_object"],
    ]);
    for (const rejection of rejected) expect(rejection.message.length).toBeGreaterThan(5);
  });

  it("refuses a document that is not a JSON object as a whole", () => {
    expect(() => parseRulesMap("{oops")).toThrow(RulesFormatError);
    expect(() => parseRulesMap("[]")).toThrow(expect.objectContaining({ code: "not_an_object" }));
    expect(() => parseRulesMap("{oops")).toThrow(expect.objectContaining({ code: "invalid_json" }));
  });

  it("also registers market app names containing spaces under their es_index_prefix form", () => {
    const { rules } = parseRulesMap({ "my app": { StaticRules: [{ Name: "A", Regex: "a" }] } });
    expect(rules.get("my-app")).toBe(rules.get("my app"));
  });
});

describe("compileGoRegex()", () => {
  it.each([
    ["(?i)secret", "a SeCrEt b", "SeCrEt"],
    ["(?P<user>[a-z]+)@", "joe@x", "joe@"],
    ["[[:digit:]]{3}", "ab1234", "123"],
    ["\\pL+", "12été34", "été"],
    ["\\Aab", "abab", "ab"],
    ["ab\\z", "abab", "ab"],
    ["\\Q1.5\\E", "1x5 1.5", "1.5"],
  ])("%s", (pattern, text, expected) => {
    expect(text.match(compileGoRegex(pattern, false))?.[0]).toBe(expected);
  });

  it("anchors \\A and \\z at the text's ends", () => {
    expect("xab".replace(compileGoRegex("\\Aab", true), "!")).toBe("xab");
    expect("abx".replace(compileGoRegex("ab\\z", true), "!")).toBe("abx");
  });

  it("refuses flags it cannot express instead of changing their meaning", () => {
    expect(() => compileGoRegex("a(?i)b", false)).toThrow(/flags/);
  });
});
