import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { FieldViolation } from "./produce-error.js";

// What a log's content must be for OpenSearch to index it as it was sent. Every rule here is one that OpenSearch
// 2.x applies to a new document under its default index settings and dynamic mapping (checked against a real
// OpenSearch 2.19; the producer README's Validation section lists them). Content that breaks one would be refused
// by OpenSearch after the producer acknowledged it and end as a dead letter, or, for numbers beyond the double
// range, lose the field without a word. The codec (@barito-flow/proto/wire: TimberWriter, TimberReader)
// only screens for the rare shapes these rules concern, on the pass it makes anyway, and asks for this exact walk when
// it sees one.

export const contentLimits = {
  /** index.mapping.depth.limit: levels of objects, the content itself being the first; nested arrays likewise. */
  maxDepth: 20,
  /** index.mapping.total_fields.limit: fields of the mapping one document creates, "@timestamp" included. */
  maxFields: 1_000,
  /** A new decimal field is mapped as `float`. */
  maxFloat: 3.4028234663852886e38,
  /** A new integer field is mapped as `long`; integers print without an exponent below 1e21. */
  longRange: 2 ** 63,
  /** Violations reported for one log (the answer stays small). */
  maxViolations: 5,
} as const;

/** Field names OpenSearch keeps for itself: refused at the top level of a document, also as a dotted path's start. */
const metadataFields = new Set([
  "_id",
  "_index",
  "_routing",
  "_source",
  "_field_names",
  "_ignored",
  "_seq_no",
  "_version",
  "_primary_term",
  "_nested_path",
  "_data_stream_timestamp",
  "_doc_count",
]);

const plainName = /^[A-Za-z_$@][\w$@-]*$/;
// Java's Character.isWhitespace, which OpenSearch applies to the parts of a field's path.
function isJavaWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

function onlyWhitespace(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isJavaWhitespace(text.charCodeAt(i))) return false;
  return text.length > 0;
}

/** `base.key`, or `base["key"]` (JSON string) for a key that is not a plain name. */
export function fieldPath(base: string, key: string): string {
  return plainName.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

export function keyProblem(key: string, topLevel: boolean): string | undefined {
  if (key === "") return "empty field name (OpenSearch cannot index it)";
  const dot = key.indexOf(".");
  if (dot !== -1 && (dot === 0 || key.endsWith(".") || key.includes(".."))) {
    return "a field name with a leading, trailing or double dot (OpenSearch reads dots as object paths)";
  }
  // OpenSearch takes such a name alone at the top level, but not as an object or a part of a path: refused alike.
  if (key.split(".").some(onlyWhitespace)) return "a field name (or part of one) of only whitespace";
  if (topLevel && key.charCodeAt(0) === 0x5f) {
    const first = dot === -1 ? key : key.slice(0, dot);
    if (metadataFields.has(first)) return `"${first}" is an OpenSearch metadata field`;
  }
  return undefined;
}

export function numberProblem(value: number): string | undefined {
  if (!Number.isFinite(value)) return "not a finite number (a literal beyond the double range, like 1e400)";
  const magnitude = Math.abs(value);
  if (magnitude > contentLimits.maxFloat) {
    return "beyond ±3.4e38, the range of the float type OpenSearch gives a new decimal field";
  }
  if (magnitude >= contentLimits.longRange && magnitude < 1e21 && Number.isInteger(value)) {
    return "an integer beyond ±2^63, the range of the long type OpenSearch gives a new integer field";
  }
  return undefined;
}

type Kind = "object" | "value";

/** One walk over a log's content; `fields` maps each mapping path (dots expanded, arrays flattened) to its kind. */
class ContentWalk {
  readonly violations: FieldViolation[] = [];
  readonly fields = new Map<string, { kind: Kind; weight: number; scope: string }>();

  add(field: string, reason: string): void {
    if (this.violations.length < contentLimits.maxViolations) this.violations.push({ field, reason });
  }

  /**
   * Registers a mapping path; false (and a violation) when it is a value in one place and an object in another.
   * `scope` is the path's array indices ("/2/0"): two elements of one array that disagree are a mapping conflict
   * like [1, "a"] (the index's business, not checked); two keys of one object that do can never be indexed.
   */
  field(mappingPath: string, kind: Kind, weight: number, path: string, scope: string): boolean {
    const known = this.fields.get(mappingPath);
    if (known === undefined) {
      this.fields.set(mappingPath, { kind, weight, scope });
      return true;
    }
    if (known.kind !== kind) {
      const a = known.scope;
      const nested = a === scope || scope.startsWith(`${a}/`) || a.startsWith(`${scope}/`);
      if (!nested) return true;
      this.add(
        path,
        `names field "${mappingPath}", which the same log also has as ${known.kind === "object" ? "an object" : "a value"}`,
      );
      return false;
    }
    known.weight = Math.max(known.weight, weight);
    return true;
  }

  object(object: JsonObject, path: string, mapping: string, depth: number, arrays: number, scope: string): void {
    for (const key of Object.keys(object)) {
      const here = fieldPath(path, key);
      const problem = keyProblem(key, mapping === "");
      if (problem !== undefined) {
        this.add(here, problem);
        continue;
      }
      // A dotted name is a path of objects: each dot is one more level and one more object field.
      const parts = key.split(".");
      let prefix = mapping;
      let ok = true;
      for (let i = 0; i < parts.length - 1 && ok; i++) {
        prefix = prefix === "" ? (parts[i] as string) : `${prefix}.${parts[i]}`;
        ok = this.field(prefix, "object", 1, here, scope);
      }
      if (!ok) continue;
      const name = prefix === "" ? key : `${prefix}.${parts[parts.length - 1]}`;
      const valueDepth = depth + parts.length - 1;
      if (valueDepth > contentLimits.maxDepth) {
        this.add(here, `nested deeper than ${contentLimits.maxDepth} levels of objects (index.mapping.depth.limit)`);
        continue;
      }
      this.value(object[key] as JsonValue, here, name, valueDepth, arrays, scope);
    }
  }

  value(value: JsonValue, path: string, mapping: string, depth: number, arrays: number, scope: string): void {
    if (value === null) return; // maps nothing
    switch (typeof value) {
      case "number": {
        const problem = numberProblem(value);
        if (problem !== undefined) this.add(path, problem);
        else this.field(mapping, "value", 1, path, scope);
        return;
      }
      case "boolean":
        this.field(mapping, "value", 1, path, scope);
        return;
      case "string":
        // A new string field is text with a keyword sub-field: two fields of the mapping.
        this.field(mapping, "value", 2, path, scope);
        return;
    }
    if (Array.isArray(value)) {
      if (arrays + 1 > contentLimits.maxDepth) {
        this.add(path, `arrays nested deeper than ${contentLimits.maxDepth} levels (index.mapping.depth.limit)`);
        return;
      }
      for (let index = 0; index < value.length; index++) {
        this.value(value[index] as JsonValue, `${path}[${index}]`, mapping, depth, arrays + 1, `${scope}/${index}`);
      }
      return;
    }
    if (depth + 1 > contentLimits.maxDepth) {
      this.add(path, `nested deeper than ${contentLimits.maxDepth} levels of objects (index.mapping.depth.limit)`);
      return;
    }
    if (this.field(mapping, "object", 1, path, scope)) {
      this.object(value as JsonObject, path, mapping, depth + 1, arrays, scope);
    }
  }
}

/**
 * Every rule above applied to one log's content, named by `base` ("content" or "items[3].content"). Returns at most
 * `contentLimits.maxViolations` violations; none for content OpenSearch indexes as sent.
 */
export function contentViolations(content: JsonObject, base: string): FieldViolation[] {
  const walk = new ContentWalk();
  walk.object(content, base, "", 1, 0, "");
  if (walk.violations.length > 0) return walk.violations;
  // The consumer adds "@timestamp" (a date: one field) when the content has none.
  let fields = walk.fields.has("@timestamp") ? 0 : 1;
  for (const { weight } of walk.fields.values()) fields += weight;
  if (fields > contentLimits.maxFields) {
    return [
      {
        field: base,
        reason: `makes ${fields} fields in the index mapping (a string counts twice: text and keyword); OpenSearch allows ${contentLimits.maxFields} (index.mapping.total_fields.limit)`,
      },
    ];
  }
  return [];
}
