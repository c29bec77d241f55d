/** A string or number value of a JSON document, with barito's path notation (`.a.b[].c`). */
export interface JsonLeaf {
  kind: "string" | "number";
  /** `"." + key` for object members, `"[]"` for array elements; the root value has the path `""`. */
  path: string;
  /** The decoded string, or the number exactly as written. */
  value: string;
}

/** Returns the JSON text that replaces the leaf, or undefined to keep it byte for byte. */
export type LeafRewriter = (leaf: JsonLeaf) => string | undefined;

export class JsonScanError extends Error {
  override readonly name = "JsonScanError";
}

interface Frame {
  kind: "object" | "array";
  path: string;
  key: string;
  expectingKey: boolean;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function isDelimiter(code: number): boolean {
  return code === COMMA || code === CLOSE_OBJECT || code === CLOSE_ARRAY || isWhitespace(code);
}

/** Index just past the closing quote of the string starting at `start`. */
function stringEnd(json: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = json.indexOf('"', from);
    if (quote < 0) throw new JsonScanError(`unterminated string at ${start}`);
    let backslashes = 0;
    for (let j = quote - 1; json.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function decodeString(token: string, at: number): string {
  try {
    return JSON.parse(token) as string;
  } catch {
    throw new JsonScanError(`invalid string at ${at}`);
  }
}

/**
 * Rewrites selected leaves of a JSON text and copies everything else verbatim, so key order, number text,
 * whitespace and escaping of untouched parts are exactly as received — which re-serialising a parsed object
 * cannot promise (integer-like keys move first, big numbers lose digits). Iterative: nesting depth is unbounded.
 * Throws {@link JsonScanError} on text that is not JSON.
 */
export function rewriteJsonLeaves(json: string, rewrite: LeafRewriter): string {
  const stack: Frame[] = [];
  const out: string[] = [];
  let copied = 0;
  let i = 0;
  let sawRoot = false;
  const leafPath = (): string => {
    const top = stack.at(-1);
    if (!top) return "";
    return top.kind === "array" ? `${top.path}[]` : `${top.path}.${top.key}`;
  };
  const replace = (start: number, end: number, text: string | undefined) => {
    if (text === undefined) return;
    out.push(json.slice(copied, start), text);
    copied = end;
  };
  const beginValue = (at: number) => {
    if (stack.length === 0) {
      if (sawRoot) throw new JsonScanError(`unexpected value at ${at}`);
      sawRoot = true;
    }
  };
  while (i < json.length) {
    const code = json.charCodeAt(i);
    if (isWhitespace(code)) {
      i++;
      continue;
    }
    const top = stack.at(-1);
    switch (code) {
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        beginValue(i);
        stack.push({ kind: code === OPEN_OBJECT ? "object" : "array", path: leafPath(), key: "", expectingKey: true });
        i++;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (!top || top.kind !== (code === CLOSE_OBJECT ? "object" : "array"))
          throw new JsonScanError(`unbalanced ${String.fromCharCode(code)} at ${i}`);
        stack.pop();
        i++;
        break;
      case COMMA:
        if (!top) throw new JsonScanError(`unexpected , at ${i}`);
        top.expectingKey = true;
        i++;
        break;
      case COLON:
        i++;
        break;
      case QUOTE: {
        const end = stringEnd(json, i);
        const token = json.slice(i, end);
        if (top?.kind === "object" && top.expectingKey) {
          top.key = decodeString(token, i);
          top.expectingKey = false;
        } else {
          beginValue(i);
          replace(i, end, rewrite({ kind: "string", path: leafPath(), value: decodeString(token, i) }));
        }
        i = end;
        break;
      }
      default: {
        let end = i + 1;
        while (end < json.length && !isDelimiter(json.charCodeAt(end))) end++;
        const token = json.slice(i, end);
        beginValue(i);
        if (token === "true" || token === "false" || token === "null") {
          // Booleans and nulls are never redacted (barito-flow neither).
        } else if (/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(token)) {
          replace(i, end, rewrite({ kind: "number", path: leafPath(), value: token }));
        } else {
          throw new JsonScanError(`unexpected token at ${i}`);
        }
        i = end;
      }
    }
  }
  if (stack.length > 0) throw new JsonScanError("unterminated object or array");
  if (out.length === 0) return json;
  out.push(json.slice(copied));
  return out.join("");
}
