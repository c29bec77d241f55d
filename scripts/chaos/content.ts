// Deterministic log contents: content(seq, topic) is recomputed at verification time, so the runner keeps one byte
// of state per log instead of the documents themselves. Every log carries its unique id.

export interface TopicSpec {
  /** context.kafka_topic; the Kafka topic is `chaos_<kafkaTopic>_logs`. */
  kafkaTopic: string;
  partitions: number;
  indexPrefix: string;
  appMaxTps: number;
  /** context.kafka_replication_factor (1 when omitted: the single-node stack). */
  replicationFactor?: number;
}

/** mulberry32: tiny, fast, good enough to vary contents. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEVELS = ["debug", "info", "info", "info", "warn", "error"];
const WORDS = [
  "order",
  "paid",
  "shipped",
  "Zürich",
  "naïve",
  "日本語",
  "emoji 🚀",
  'quote "x"',
  "back\\slash",
  "tab\tch",
  "line\nbreak",
  "<html>",
  "café",
  "ümlaut",
];

export function logId(run: string, seq: number): string {
  return `${run}-${seq}`;
}

/** The content of log `seq`: ~150-700 B of JSON with unicode, escapes, nesting, numbers, booleans and null. */
export function content(run: string, seq: number, topic: string): Record<string, unknown> {
  const random = prng(seq * 2654435761 + 17);
  const words = 3 + Math.floor(random() * 40);
  const message: string[] = [];
  for (let i = 0; i < words; i++) message.push(WORDS[Math.floor(random() * WORDS.length)] as string);
  const doc: Record<string, unknown> = {
    id: logId(run, seq),
    seq,
    app: topic,
    level: LEVELS[Math.floor(random() * LEVELS.length)],
    message: message.join(" "),
    duration_ms: Math.round(random() * 1e6) / 1000,
    ok: random() < 0.9,
    user: { id: Math.floor(random() * 1e9), tags: ["a", "b", "c"].slice(0, Math.floor(random() * 4)), ref: null },
  };
  // An integer-like key (JavaScript moves those first): the comparison is by value, not by key order.
  if (random() < 0.3) doc["404"] = "not found";
  return doc;
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}
