export { type JsonLeaf, JsonScanError, type LeafRewriter, rewriteJsonLeaves } from "./json-leaves.js";
export { createRedactionMetrics, type RedactionMetrics } from "./metrics.js";
export { createRedactor, mask, type Redactor, type RedactorOptions, redactWithRules } from "./redactor.js";
export {
  type AppRules,
  compileGoRegex,
  type JsonPathRule,
  type ParsedRules,
  parseRulesMap,
  type RuleRejection,
  RulesFormatError,
  type StaticRule,
} from "./rules.js";
export {
  createRulesSource,
  RulesLoadError,
  type RulesSource,
  type RulesSourceKind,
  type RulesSourceOptions,
  type RulesSourceStatus,
  rulesSourceKind,
  validateInlineRules,
} from "./sources.js";
