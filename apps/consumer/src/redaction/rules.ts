/**
 * barito's redaction rule format (BaritoMarket `GET /api/fetch_redact_labels`, reference §8.1):
 * `{"<es_index_prefix>|default": {"StaticRules": [...], "JsonPathRules": [...]}}`.
 *
 * Unlike barito-flow, an invalid rule never panics: it is left out and reported as a {@link RuleRejection}, and
 * the other rules of the same app still apply.
 */

export interface StaticRule {
  name: string;
  /** Global regex, matched against every string value (and number text) of the document. */
  regex: RegExp;
  hintCharsStart: number;
  hintCharsEnd: number;
}

export interface JsonPathRule {
  name: string;
  /** Matched (unanchored, like Go's MatchString) against a leaf's path such as `.users.details[].email`. */
  path: RegExp;
  hintCharsStart: number;
  hintCharsEnd: number;
}

export interface AppRules {
  staticRules: StaticRule[];
  jsonPathRules: JsonPathRule[];
}

export type RuleType = "StaticRules" | "JsonPathRules";

export interface RuleRejection {
  app: string;
  type: RuleType | "app";
  index: number;
  /** Machine-readable reason: invalid_regex, unsupported_regex, empty_match, invalid_name, invalid_hint, ... */
  code: string;
  message: string;
}

export interface ParsedRules {
  rules: Map<string, AppRules>;
  rejected: RuleRejection[];
}

export class RulesFormatError extends Error {
  override readonly name = "RulesFormatError";
  constructor(
    readonly code: "invalid_json" | "not_an_object",
    message: string,
  ) {
    super(message);
  }
}

/** A pattern longer than this is refused: rules are written by people, and huge ones are a typo or an attack. */
const maxPatternLength = 2_000;
/** Hints reveal characters; more than this is not a hint any more. */
const maxHintChars = 256;

const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Compiles a Go RE2 pattern as a JavaScript RegExp. The common RE2-only syntax is translated (leading `(?flags)`,
 * `(?P<name>`, `\A`, `\z`, `\Q…\E`, `[[:class:]]`, `\pL`); what has no JavaScript equivalent (ungreedy `(?U)`,
 * flags in the middle) is refused rather than silently changed.
 */
export function compileGoRegex(pattern: string, global: boolean): RegExp {
  let source = pattern;
  let flags = global ? "g" : "";
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    const groupFlags = leading[1] ?? "";
    if (groupFlags.includes("U"))
      throw new UnsupportedRegexError("the ungreedy flag (?U) has no JavaScript equivalent");
    for (const flag of new Set(groupFlags)) flags += flag;
    source = source.slice(leading[0].length);
  }
  if (/\(\?[imsU-]+\)/.test(source)) throw new UnsupportedRegexError("flags after the start of the pattern");
  source = source
    .replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_, literal: string) => escapeLiteral(literal))
    .replace(/\(\?P</g, "(?<")
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
      const range = posixClasses[name];
      if (!range) return whole;
      if (negated) throw new UnsupportedRegexError(`negated POSIX class [:^${name}:]`);
      return range;
    })
    .replace(/\\p([A-Z])/g, "\\p{$1}")
    .replace(/\\P([A-Z])/g, "\\P{$1}")
    .replace(/\\A/g, "(?<![\\s\\S])")
    .replace(/\\z/g, "(?![\\s\\S])");
  try {
    // Unicode mode matches RE2 (code points, \p{...}); some identity escapes RE2 accepts are errors there.
    return new RegExp(source, `${flags}u`);
  } catch {
    return new RegExp(source, flags);
  }
}

export class UnsupportedRegexError extends Error {
  override readonly name = "UnsupportedRegexError";
}

/** Go's encoding/json matches field names case-insensitively; barito's rules rely on that. */
function field(object: Record<string, unknown>, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseHint(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > maxHintChars) return undefined;
  return value;
}

type RuleBase = { name: string; hintCharsStart: number; hintCharsEnd: number };

function parseRule(
  app: string,
  type: RuleType,
  index: number,
  raw: unknown,
  rejected: RuleRejection[],
): (RuleBase & { regex: RegExp }) | undefined {
  const reject = (code: string, message: string) => {
    rejected.push({ app, type, index, code, message });
    return undefined;
  };
  if (!isPlainObject(raw)) return reject("not_an_object", "a rule must be an object");
  const name = field(raw, "Name");
  if (typeof name !== "string" || name.trim() === "") return reject("invalid_name", "Name must be a non-empty string");
  const patternField = type === "StaticRules" ? "Regex" : "Path";
  const pattern = field(raw, patternField);
  if (typeof pattern !== "string" || pattern === "")
    return reject("invalid_regex", `${patternField} must be a non-empty string`);
  if (pattern.length > maxPatternLength)
    return reject("invalid_regex", `${patternField} is longer than ${maxPatternLength} characters`);
  const hintCharsStart = parseHint(field(raw, "HintCharsStart"));
  const hintCharsEnd = parseHint(field(raw, "HintCharsEnd"));
  if (hintCharsStart === undefined || hintCharsEnd === undefined)
    return reject("invalid_hint", `HintCharsStart and HintCharsEnd must be integers from 0 to ${maxHintChars}`);
  let regex: RegExp;
  try {
    regex = compileGoRegex(pattern, type === "StaticRules");
  } catch (err) {
    const code = err instanceof UnsupportedRegexError ? "unsupported_regex" : "invalid_regex";
    return reject(code, `${patternField} ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  // A static regex matching the empty string would insert a mask between every character.
  if (type === "StaticRules" && new RegExp(regex.source, regex.flags.replace("g", "")).test(""))
    return reject("empty_match", `Regex ${JSON.stringify(pattern)} matches the empty string`);
  return { name, hintCharsStart, hintCharsEnd, regex };
}

function parseAppRules(app: string, raw: unknown, rejected: RuleRejection[]): AppRules | undefined {
  if (raw === null) return { staticRules: [], jsonPathRules: [] };
  if (!isPlainObject(raw)) {
    rejected.push({ app, type: "app", index: -1, code: "not_an_object", message: "an app's rules must be an object" });
    return undefined;
  }
  const rules: AppRules = { staticRules: [], jsonPathRules: [] };
  for (const type of ["StaticRules", "JsonPathRules"] as const) {
    const list = field(raw, type);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      rejected.push({ app, type, index: -1, code: "not_an_array", message: `${type} must be an array` });
      continue;
    }
    for (const [index, item] of list.entries()) {
      const rule = parseRule(app, type, index, item, rejected);
      if (!rule) continue;
      const { regex, ...base } = rule;
      if (type === "StaticRules") rules.staticRules.push({ ...base, regex });
      else rules.jsonPathRules.push({ ...base, path: regex });
    }
  }
  return rules;
}

/**
 * Parses a rules map (JSON text or an already parsed value). Throws {@link RulesFormatError} only when the whole
 * document is unusable (not JSON, not an object); a bad app entry or rule is left out and listed in `rejected`.
 *
 * BaritoMarket keys rules by app name while documents carry `es_index_prefix` (the name with spaces replaced by
 * `-`); the prefix form is registered too, so app rules for names with spaces apply (barito-flow missed them).
 */
export function parseRulesMap(input: string | unknown): ParsedRules {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new RulesFormatError("invalid_json", `redaction rules are not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(value)) throw new RulesFormatError("not_an_object", "redaction rules must be a JSON object");
  const rules = new Map<string, AppRules>();
  const rejected: RuleRejection[] = [];
  for (const [app, raw] of Object.entries(value)) {
    const appRules = parseAppRules(app, raw, rejected);
    if (appRules) rules.set(app, appRules);
  }
  for (const [app, appRules] of [...rules]) {
    const prefix = app.replace(/ /g, "-");
    if (prefix !== app && !rules.has(prefix)) rules.set(prefix, appRules);
  }
  return { rules, rejected };
}
