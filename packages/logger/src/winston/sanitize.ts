import { holdsSecret, REDACTED, redactText } from "../secrets.js";
import { isErrorLike, serializeError } from "./serialize-error.js";

const maxDepth = 8;
const maxArrayItems = 100;
const maxStringLength = 8_192;

/**
 * Copies log fields into plain JSON-safe data: secrets are masked by the package's one set of rules (`secrets.ts`),
 * bigints become strings (JSON.stringify throws on them), errors become `{name, message, code, stack}`,
 * protobuf messages lose their `$typeName` marker, byte arrays are summarised, cycles and depth are cut. Never throws.
 */
export function sanitizeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new WeakSet<object>();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = sanitizeValue(value, key, seen, 0);
  }
  return out;
}

export function sanitizeValue(value: unknown, key: string, seen: WeakSet<object>, depth: number): unknown {
  try {
    if (holdsSecret(key, value)) return REDACTED;
    switch (typeof value) {
      case "string":
        return truncate(redactText(value));
      case "bigint":
        return value.toString();
      case "number":
        return Number.isFinite(value) ? value : String(value);
      case "boolean":
      case "undefined":
        return value;
      case "symbol":
        return value.toString();
      case "function":
        return `[Function ${value.name || "anonymous"}]`;
    }
    if (value === null) return null;
    const object = value as object;
    if (seen.has(object)) return "[Circular]";
    if (depth >= maxDepth) return "[Truncated]";
    seen.add(object);
    try {
      return sanitizeObject(object, seen, depth);
    } finally {
      // Only ancestors count as cycles; the same object twice side by side is fine.
      seen.delete(object);
    }
  } catch {
    return "[Unserializable]";
  }
}

function sanitizeObject(object: object, seen: WeakSet<object>, depth: number): unknown {
  const child = (v: unknown, k: string) => sanitizeValue(v, k, seen, depth + 1);
  if (isErrorLike(object)) return serializeError(object, child);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (object instanceof Uint8Array) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return `[${object.constructor.name}]`;
  if (object instanceof URL) return redactText(object.href);
  if (Array.isArray(object)) {
    const items = object.slice(0, maxArrayItems).map((item) => child(item, ""));
    if (object.length > maxArrayItems) items.push(`[${object.length - maxArrayItems} more]`);
    return items;
  }
  if (object instanceof Map) {
    const entries: Record<string, unknown> = {};
    for (const [k, v] of object) entries[String(k)] = child(v, String(k));
    return entries;
  }
  if (object instanceof Set) return child([...object], "");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) {
    // `$typeName` marks a protobuf-es message; its fields are what matter in a log.
    if (k === "$typeName" || v === undefined) continue;
    out[k] = child(v, k);
  }
  return out;
}

function truncate(text: string): string {
  return text.length > maxStringLength ? `${text.slice(0, maxStringLength)}...[${text.length} chars]` : text;
}
