import { describe, expect, it } from "@jest/globals";
import { createRedactor, mask, redactWithRules } from "./redactor.js";
import { parseRulesMap } from "./rules.js";

function rulesOf(definition: unknown) {
  const { rules, rejected } = parseRulesMap({ default: definition });
  expect(rejected).toEqual([]);
  const appRules = rules.get("default");
  if (!appRules) throw new Error("no rules");
  return appRules;
}

const email = (hints: { HintCharsStart?: number; HintCharsEnd?: number } = {}) =>
  rulesOf({ StaticRules: [{ Name: "EMAIL", Regex: "[a-z]+@[a-z]+\\.[a-z]+", ...hints }] });

describe("mask()", () => {
  it("follows barito's format, hints counted in characters", () => {
    expect(mask("EMAIL", "user@example.com", 0, 0)).toBe("[EMAIL REDACTED]");
    expect(mask("EMAIL", "user@example.com", 4, 0)).toBe("user[EMAIL REDACTED]");
    expect(mask("EMAIL", "user@example.com", 0, 3)).toBe("[EMAIL REDACTED]com");
    expect(mask("EMAIL", "user@example.com", 2, 3)).toBe("us[EMAIL REDACTED]com");
    expect(mask("N", "😀éabc✓", 2, 1)).toBe("😀é[N REDACTED]✓");
  });

  it("never reveals a whole match when the hints are as long as it (barito-flow panicked)", () => {
    expect(mask("PIN", "12", 4, 0)).toBe("[PIN REDACTED]");
    expect(mask("PIN", "1234", 2, 2)).toBe("[PIN REDACTED]");
    expect(mask("PIN", "", 1, 1)).toBe("[PIN REDACTED]");
  });
});

describe("redactWithRules()", () => {
  it("reproduces barito-flow's static rule examples inside a document", () => {
    expect(redactWithRules(email(), '{"m":"abc user@example.com"}')).toBe('{"m":"abc [EMAIL REDACTED]"}');
    expect(redactWithRules(email({ HintCharsStart: 4 }), '{"m":"abc user@example.com"}')).toBe(
      '{"m":"abc user[EMAIL REDACTED]"}',
    );
    expect(redactWithRules(email({ HintCharsEnd: 3 }), '{"m":"abc user@example.com"}')).toBe(
      '{"m":"abc [EMAIL REDACTED]com"}',
    );
  });

  it("masks the values whose path a JSON-path rule matches (first matching rule wins)", () => {
    const rules = rulesOf({
      JsonPathRules: [
        { Name: "EMAIL", Path: "users.details\\[]\\.email" },
        { Name: "OTHER", Path: "email" },
      ],
    });
    expect(redactWithRules(rules, '{"users":{"details":[{"email":"a@b.c"},{"email":"d@e.f","n":1}]}}')).toBe(
      '{"users":{"details":[{"email":"[EMAIL REDACTED]"},{"email":"[EMAIL REDACTED]","n":1}]}}',
    );
    expect(redactWithRules(rules, '{"email":"x"}')).toBe('{"email":"[OTHER REDACTED]"}');
  });

  it("keeps key order, number text and untouched escapes (barito-flow re-marshalled alphabetically)", () => {
    const rules = rulesOf({ JsonPathRules: [{ Name: "E", Path: "\\.mail$" }] });
    const json = '{"z":1,"10":2,"a":12345678901234567890,"html":"<b>&amp;</b>","mail":"x@y.z","f":0.1000}';
    expect(redactWithRules(rules, json)).toBe(
      '{"z":1,"10":2,"a":12345678901234567890,"html":"<b>&amp;</b>","mail":"[E REDACTED]","f":0.1000}',
    );
  });

  it("cannot corrupt the structure: static rules see values, never quotes, keys or punctuation", () => {
    const rules = rulesOf({
      StaticRules: [
        { Name: "X", Regex: '[a-z]+":"[a-z]+' },
        { Name: "K", Regex: "key" },
      ],
    });
    const json = '{"key":"value","other":"a\\":\\"b"}';
    const result = redactWithRules(rules, json);
    expect(result).toBe('{"key":"value","other":"[X REDACTED]"}');
    expect(JSON.parse(result)).toEqual({ key: "value", other: "[X REDACTED]" });
  });

  it("masks a number a static rule matches as a string, and leaves booleans and nulls", () => {
    const rules = rulesOf({ StaticRules: [{ Name: "CARD", Regex: "\\d{16}", HintCharsEnd: 4 }] });
    expect(redactWithRules(rules, '{"card":4111111111111111,"n":12,"t":true,"z":null}')).toBe(
      '{"card":"[CARD REDACTED]1111","n":12,"t":true,"z":null}',
    );
  });

  it("never touches the top-level @timestamp the index date comes from", () => {
    const rules = rulesOf({ StaticRules: [{ Name: "D", Regex: "\\d+" }] });
    expect(redactWithRules(rules, '{"@timestamp":"2026-01-02T03:04:05Z","x":"id 42"}')).toBe(
      '{"@timestamp":"2026-01-02T03:04:05Z","x":"id [D REDACTED]"}',
    );
  });

  it("applies static rules after path rules, in order", () => {
    const rules = rulesOf({
      JsonPathRules: [{ Name: "P", Path: "\\.a$", HintCharsStart: 3 }],
      StaticRules: [
        { Name: "S1", Regex: "foo" },
        { Name: "S2", Regex: "oo" },
      ],
    });
    expect(redactWithRules(rules, '{"a":"foobar","b":"boo"}')).toBe(
      '{"a":"[S1 REDACTED][P REDACTED]","b":"b[S2 REDACTED]"}',
    );
  });

  it("masks the raw text of something that is not JSON rather than leaking it", () => {
    expect(redactWithRules(email(), "not json: joe@x.io")).toBe("not json: [EMAIL REDACTED]");
  });
});

describe("createRedactor()", () => {
  const { rules } = parseRulesMap({
    default: { StaticRules: [{ Name: "D", Regex: "secret" }] },
    "app-a": { StaticRules: [{ Name: "A", Regex: "secret" }] },
    "app-none": { StaticRules: [] },
  });

  it("uses the app's rules, else default; counts the bytes seen while rules exist", () => {
    const seen: Array<[string, number]> = [];
    const redactor = createRedactor({ rules, onDocument: (app, bytes) => seen.push([app, bytes]) });
    expect(redactor.redact("app-a", '{"m":"secret"}')).toBe('{"m":"[A REDACTED]"}');
    expect(redactor.redact("app-b", '{"m":"secret"}')).toBe('{"m":"[D REDACTED]"}');
    expect(redactor.redact("app-none", '{"m":"secret"}')).toBe('{"m":"secret"}');
    expect(seen).toEqual([
      ["app-a", 14],
      ["app-b", 14],
      ["app-none", 14],
    ]);
  });

  it("returns the document unchanged and counts nothing without rules; swaps rule sets at once", () => {
    const seen: string[] = [];
    const redactor = createRedactor({ onDocument: (app) => seen.push(app) });
    const json = '{"m":"secret"}';
    expect(redactor.redact("app-a", json)).toBe(json);
    expect(seen).toEqual([]);
    redactor.setRules(rules);
    expect(redactor.appCount()).toBe(3);
    expect(redactor.redact("app-a", json)).toBe('{"m":"[A REDACTED]"}');
  });
});
