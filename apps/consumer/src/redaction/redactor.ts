import { JsonScanError, rewriteJsonLeaves } from "./json-leaves.js";
import type { AppRules, JsonPathRule, StaticRule } from "./rules.js";

export interface Redactor {
  /**
   * Applies the rules of `app` (the document's `es_index_prefix`), or of `default` when the app has none, to a
   * serialised JSON document. Returns the same string when nothing matched. Never throws.
   */
  redact(app: string, json: string): string;
  /** Swaps the whole rule set at once (a refresh); documents in progress finish with the set they started with. */
  setRules(rules: ReadonlyMap<string, AppRules>): void;
  /** Number of apps with rules (including `default`). */
  appCount(): number;
}

export interface RedactorOptions {
  rules?: ReadonlyMap<string, AppRules>;
  /** barito's `barito_consumer_redact_produced_total_log_bytes`: called for every document while rules exist. */
  onDocument?: (app: string, bytes: number) => void;
}

/** The field the index date comes from; masking it would send the document to a wrong or invalid index. */
const timestampPath = ".@timestamp";

/**
 * barito's mask: `[<Name> REDACTED]`, keeping `hintStart` leading and `hintEnd` trailing characters. Hints count
 * characters (code points), not bytes, and are dropped when they would reveal the whole match — barito-flow sliced
 * bytes (splitting UTF-8) and panicked on a match shorter than the hint.
 */
export function mask(name: string, match: string, hintStart: number, hintEnd: number): string {
  const tag = `[${name} REDACTED]`;
  if (hintStart === 0 && hintEnd === 0) return tag;
  const chars = [...match];
  if (hintStart + hintEnd >= chars.length) return tag;
  const head = chars.slice(0, hintStart).join("");
  const tail = hintEnd > 0 ? chars.slice(chars.length - hintEnd).join("") : "";
  return head + tag + tail;
}

function applyStaticRules(rules: readonly StaticRule[], text: string): string {
  let result = text;
  for (const rule of rules)
    result = result.replace(rule.regex, (match) => mask(rule.name, match, rule.hintCharsStart, rule.hintCharsEnd));
  return result;
}

function firstPathRule(rules: readonly JsonPathRule[], path: string): JsonPathRule | undefined {
  for (const rule of rules) if (rule.path.test(path)) return rule;
  return undefined;
}

/**
 * Applies one app's rules the way barito-flow meant them: JSON-path rules first (the first rule whose `Path`
 * matches a string leaf's path masks the whole value), then every static rule, in order, on the values.
 *
 * Fixes over barito-flow: static rules run on each value instead of the raw JSON text, so they cannot break the
 * document's structure or rename keys; the document is not re-serialised, so key order, number text and escaping
 * survive. A number whose text a static rule matches (a card or phone number sent as a number) becomes the masked
 * string — barito-flow wrote the mask unquoted, an invalid document. Keys, booleans and nulls are never changed.
 */
export function redactWithRules(rules: AppRules, json: string): string {
  const { staticRules, jsonPathRules } = rules;
  if (staticRules.length === 0 && jsonPathRules.length === 0) return json;
  try {
    return rewriteJsonLeaves(json, (leaf) => {
      if (leaf.path === timestampPath) return undefined;
      let value = leaf.value;
      if (leaf.kind === "string") {
        const pathRule = firstPathRule(jsonPathRules, leaf.path);
        if (pathRule) value = mask(pathRule.name, value, pathRule.hintCharsStart, pathRule.hintCharsEnd);
      }
      value = applyStaticRules(staticRules, value);
      return value === leaf.value ? undefined : JSON.stringify(value);
    });
  } catch (err) {
    if (!(err instanceof JsonScanError)) throw err;
    // Not JSON (never the case for documents built by this consumer): mask the text rather than leak it.
    return applyStaticRules(staticRules, json);
  }
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  let rules: ReadonlyMap<string, AppRules> = options.rules ?? new Map();
  return {
    redact(app, json) {
      if (rules.size === 0) return json;
      options.onDocument?.(app, Buffer.byteLength(json));
      const appRules = rules.get(app) ?? rules.get("default");
      return appRules ? redactWithRules(appRules, json) : json;
    },
    setRules(next) {
      rules = next;
    },
    appCount: () => rules.size,
  };
}
