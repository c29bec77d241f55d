import { SinkError } from "./errors.js";
import type { BulkOperation, ItemOutcome } from "./types.js";

/** An operation as the sink keeps it: what its NDJSON lines are made of, and their byte size. */
export interface SerialisedOperation {
  action: BulkOperation["action"];
  index: string;
  id: string;
  /** `{"<action>":{"_index":<index>,"_id":` as UTF-8, shared by every operation with the same action and index. */
  actionHead: Buffer;
  /** The id as a JSON string when it must be escaped or is not ASCII; undefined: written as it is between quotes. */
  idJson: string | undefined;
  /** The document line: JSON text, or its UTF-8 bytes. */
  sourceLine: string | Uint8Array;
  /** Both lines and their line breaks, in bytes. */
  bytes: number;
}

const MAX_INDEX_NAME_BYTES = 255;
const MAX_ID_BYTES = 512;
// The characters OpenSearch and Elasticsearch both refuse in index names (plus ':' which ES 7+ refuses).
const FORBIDDEN_INDEX_CHARS = /[\\/*?"<>| ,#:A-Z]/;

function invalid(field: string, message: string, cause?: unknown): SinkError {
  return new SinkError("INVALID_OPERATION", `${field}: ${message}`, {
    retriable: false,
    field,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Returns null for a valid index name, else why it is invalid. Checked before sending because an invalid name would
 * fail the item anyway, and in the Go original it even blocked the whole topic forever (barito-flow §7.5).
 */
export function indexNameProblem(index: unknown): string | null {
  if (typeof index !== "string" || index.length === 0) return "must be a non-empty string";
  if (Buffer.byteLength(index) > MAX_INDEX_NAME_BYTES) return `must be at most ${MAX_INDEX_NAME_BYTES} bytes`;
  if (index === "." || index === "..") return "must not be . or ..";
  if (/^[-_+]/.test(index)) return "must not start with -, _ or +";
  const bad = FORBIDDEN_INDEX_CHARS.exec(index);
  if (bad) return `must be lowercase and must not contain ${JSON.stringify(bad[0])}`;
  return null;
}

// Index names repeat (one per app and day): remember the valid ones instead of re-checking each document.
const validIndexNames = new Set<string>();
const VALID_INDEX_NAMES_KEPT = 1_024;

function checkIndex(index: unknown): void {
  if (typeof index === "string" && validIndexNames.has(index)) return;
  const problem = indexNameProblem(index);
  if (problem) throw invalid("index", problem);
  if (validIndexNames.size >= VALID_INDEX_NAMES_KEPT) validIndexNames.clear();
  validIndexNames.add(index as string);
}

/** Index of the first character that is not JSON whitespace (what `trimStart()` would keep, without the copy). */
function firstNonSpace(text: string): number {
  let i = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) break;
  }
  return i;
}

/** Action heads by action and index name (a handful: one per app and day). */
const actionHeads = new Map<string, Buffer>();

function actionHeadFor(action: BulkOperation["action"], index: string): Buffer {
  const key = action === "index" ? index : `\u0000${index}`;
  let head = actionHeads.get(key);
  if (head === undefined) {
    head = Buffer.from(`{"${action}":{"_index":${JSON.stringify(index)},"_id":`);
    if (actionHeads.size >= VALID_INDEX_NAMES_KEPT) actionHeads.clear();
    actionHeads.set(key, head);
  }
  return head;
}

/** True when `id` is printable ASCII without `"` or `\`: its JSON is the id between quotes, one byte a character. */
function isPlainId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/** The action line of an operation (what `encodeOperation` writes before the document). */
export function actionLine(op: SerialisedOperation): string {
  return `${op.actionHead.toString()}${op.idJson ?? `"${op.id}"`}}}`;
}

/** The document line as text. */
export function sourceText(op: SerialisedOperation): string {
  const line = op.sourceLine;
  return typeof line === "string" ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("utf8");
}

/**
 * Writes the operation's two NDJSON lines into `body` at `at` (which must have `op.bytes` bytes of room); returns
 * the offset after them.
 */
export function encodeOperation(op: SerialisedOperation, body: Buffer, at: number): number {
  const head = op.actionHead;
  body.set(head, at);
  at += head.length;
  if (op.idJson === undefined) {
    body[at++] = 0x22;
    at += body.write(op.id, at, "latin1");
    body[at++] = 0x22;
  } else at += body.write(op.idJson, at);
  body[at++] = 0x7d;
  body[at++] = 0x7d;
  body[at++] = 0x0a;
  const line = op.sourceLine;
  if (typeof line === "string") at += body.write(line, at);
  else {
    body.set(line, at);
    at += line.length;
  }
  body[at++] = 0x0a;
  return at;
}

/** The NDJSON lines of `ops` (action line, document line, ...) without line breaks, for `BulkClient.bulk`. */
export function bulkLines(ops: readonly SerialisedOperation[]): string[] {
  const lines: string[] = [];
  for (const op of ops) lines.push(actionLine(op), sourceText(op));
  return lines;
}

/**
 * The NDJSON body of `ops`, written into one Buffer of the size their `bytes` add up to: no string per action line,
 * no joined string to flatten and encode again, and documents given as bytes are copied as they are.
 */
export function encodeBody(ops: readonly SerialisedOperation[], bytes: number): Buffer {
  const body = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const op of ops) at = encodeOperation(op, body, at);
  if (at !== bytes) {
    throw new SinkError("INVALID_OPERATION", `bulk body has ${at} bytes instead of ${bytes}`, { retriable: false });
  }
  return body;
}

/** What `validate` found, handed over without an object: it runs for every document. */
let checkedSource: string | Uint8Array = "";
let checkedHead: Buffer = Buffer.alloc(0);
let checkedIdJson: string | undefined;
let checkedBytes = 0;

/** An operation the sink holds until its outcome: the serialised fields and the sink's own, in one object. */
export interface PendingOperation extends SerialisedOperation {
  /** Time by which this operation must be on its way: enqueue time + flush interval, or "now" after a retry. */
  dueAt: number;
  /** Per-item retries already scheduled for this operation. */
  attempts: number;
  settled: boolean;
  /** The caller's operation, handed back to `done`. */
  source: BulkOperation;
  done(result: ItemOutcome | Error, op: BulkOperation): void;
}

/**
 * Validates one operation (throws `SinkError` INVALID_OPERATION, with field) and turns it into the sink's pending
 * entry, built whole in one literal: properties added afterwards would cost every document a second allocation.
 */
export function pendingOperation(op: BulkOperation, dueAt: number, done: PendingOperation["done"]): PendingOperation {
  validate(op);
  return {
    action: op.action,
    index: op.index,
    id: op.id,
    actionHead: checkedHead,
    idJson: checkedIdJson,
    sourceLine: checkedSource,
    bytes: checkedBytes,
    dueAt,
    attempts: 0,
    settled: false,
    source: op,
    done,
  };
}

function validate(op: BulkOperation): void {
  if (typeof op !== "object" || op === null) throw invalid("operation", "must be an object");
  const { action, index, id, document } = op;
  if (action !== "index" && action !== "create") throw invalid("action", 'must be "index" or "create"');
  checkIndex(index);
  if (typeof id !== "string" || id.length === 0) throw invalid("id", "must be a non-empty string");
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit: short ids need no byte count.
  if (id.length * 3 > MAX_ID_BYTES && Buffer.byteLength(id) > MAX_ID_BYTES) {
    throw invalid("id", `must be at most ${MAX_ID_BYTES} bytes`);
  }

  let sourceLine: string | Uint8Array;
  let sourceBytes: number;
  if (typeof document === "string") {
    // A raw newline would split the NDJSON body and corrupt every other item of the request.
    // (indexOf: about twice as fast as a regex over a ~500-byte document)
    if (document.indexOf("\n") !== -1 || document.indexOf("\r") !== -1) {
      throw invalid("document", "serialised JSON must not contain raw line breaks");
    }
    if (document.charCodeAt(firstNonSpace(document)) !== 0x7b) throw invalid("document", "must be a JSON object");
    sourceLine = document;
    sourceBytes = Buffer.byteLength(document);
  } else if (document instanceof Uint8Array) {
    // UTF-8 JSON bytes: sent as they are, without a string in between.
    if (document.indexOf(0x0a) !== -1 || document.indexOf(0x0d) !== -1) {
      throw invalid("document", "serialised JSON must not contain raw line breaks");
    }
    let first = 0;
    while (first < document.length) {
      const byte = document[first] as number;
      if (byte !== 0x20 && byte !== 0x09) break;
      first++;
    }
    if (document[first] !== 0x7b) throw invalid("document", "must be a JSON object");
    sourceLine = document;
    sourceBytes = document.length;
  } else if (typeof document === "object" && document !== null && !Array.isArray(document)) {
    let text: unknown;
    try {
      text = JSON.stringify(document);
    } catch (cause) {
      throw invalid("document", "cannot be serialised to JSON (BigInt or circular reference?)", cause);
    }
    if (typeof text !== "string") throw invalid("document", "cannot be serialised to JSON");
    sourceLine = text;
    sourceBytes = Buffer.byteLength(text);
  } else {
    throw invalid("document", "must be a JSON object, its serialised string or its UTF-8 bytes");
  }

  // Same text as JSON.stringify({ [action]: { _index, _id } }), without building the objects or a string per line.
  const actionHead = actionHeadFor(action, index);
  const idJson = isPlainId(id) ? undefined : JSON.stringify(id);
  const idBytes = idJson === undefined ? id.length + 2 : Buffer.byteLength(idJson);
  checkedSource = sourceLine;
  checkedHead = actionHead;
  checkedIdJson = idJson;
  // head, id, "}}\n", document, "\n"
  checkedBytes = actionHead.length + idBytes + 3 + sourceBytes + 1;
}
