// The comparison at the heart of the oracle: every document of the chaos indices against the ledger of what the
// client sent and what the producer acknowledged.
import { content, jsonEqual, type TopicSpec } from "./content.ts";
import { State } from "./traffic.ts";
import { type Hit, scanAll } from "./verify.ts";

export interface Ledger {
  run: string;
  /** State of each sequence number (see State). */
  state: Uint8Array;
  topicOf: Uint8Array;
  /** Sequence numbers in use: 0..capacity-1. */
  capacity: number;
  topics: TopicSpec[];
}

export interface Verdict {
  documents: number;
  ackedPresent: number;
  missing: number;
  duplicated: number;
  corrupted: number;
  wrongIndex: number;
  unexpected: number;
  failedPresent: number;
  failedAbsent: number;
  rejectedPresent: number;
  samples: {
    missing: string[];
    duplicated: string[];
    corrupted: string[];
    unexpected: string[];
    wrongIndex: string[];
    rejectedPresent: string[];
  };
}

const MAX_SAMPLES = 20;

export async function verifyIndices(opensearch: string, pattern: string, ledger: Ledger): Promise<Verdict> {
  const { run, state, topicOf, capacity, topics } = ledger;
  const counts = new Uint8Array(capacity);
  const verdict: Verdict = {
    documents: 0,
    ackedPresent: 0,
    missing: 0,
    duplicated: 0,
    corrupted: 0,
    wrongIndex: 0,
    unexpected: 0,
    failedPresent: 0,
    failedAbsent: 0,
    rejectedPresent: 0,
    samples: { missing: [], duplicated: [], corrupted: [], unexpected: [], wrongIndex: [], rejectedPresent: [] },
  };
  const sample = (list: string[], text: string) => {
    if (list.length < MAX_SAMPLES) list.push(text);
  };
  verdict.documents = await scanAll(opensearch, pattern, (hit: Hit) => {
    const source = hit._source;
    const id = typeof source.id === "string" ? source.id : "";
    const match = /^(.+)-(\d+)$/.exec(id);
    const seq = match && match[1] === run ? Number(match[2]) : -1;
    if (seq < 0 || seq >= capacity || state[seq] === State.unsent) {
      verdict.unexpected++;
      sample(verdict.samples.unexpected, `${hit._index}/${hit._id}: id ${id || "(none)"}`);
      return;
    }
    if (counts[seq] !== 255) counts[seq] = (counts[seq] as number) + 1;
    const spec = topics[topicOf[seq] as number] as TopicSpec;
    const { "@timestamp": timestamp, ...rest } = source;
    if (typeof timestamp !== "string" || !jsonEqual(rest, content(run, seq, spec.kafkaTopic))) {
      verdict.corrupted++;
      sample(verdict.samples.corrupted, `${hit._index}/${hit._id}: ${JSON.stringify(source).slice(0, 300)}`);
    }
    if (!hit._index.startsWith(`${spec.indexPrefix}-`)) {
      verdict.wrongIndex++;
      sample(verdict.samples.wrongIndex, `${hit._index}/${hit._id}: expected ${spec.indexPrefix}-*`);
    }
  });
  for (let seq = 0; seq < capacity; seq++) {
    const s = state[seq];
    const n = counts[seq] as number;
    if (s === State.acked) {
      if (n === 0) {
        verdict.missing++;
        sample(verdict.samples.missing, `${run}-${seq} (${topics[topicOf[seq] as number]?.kafkaTopic})`);
      } else verdict.ackedPresent++;
    } else if (s === State.failed || s === State.gaveUp) {
      if (n === 1) verdict.failedPresent++;
      else if (n === 0) verdict.failedAbsent++;
    } else if (n > 0) {
      // Refused by the server (nothing written), or never sent: must not be there.
      verdict.rejectedPresent++;
      sample(verdict.samples.rejectedPresent, `${run}-${seq} (state ${s})`);
    }
    if (n > 1) {
      verdict.duplicated++;
      sample(verdict.samples.duplicated, `${run}-${seq} ×${n}`);
    }
  }
  return verdict;
}

/**
 * Proves the oracle can see what it claims to check: plants one missing, one duplicated, one corrupted and one
 * unknown document in a copy-free way (delete / re-index under another id / overwrite / add), re-verifies, and
 * expects exactly those four deltas. Run after the real verdict; the planted damage stays (the run is over).
 */
export async function selfCheck(
  opensearch: string,
  pattern: string,
  ledger: Ledger,
  before: Verdict,
): Promise<{ ok: boolean; detail: string }> {
  const docs: Hit[] = [];
  const res = await fetch(`${opensearch}/${pattern}/_search`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ size: 50, query: { match_all: {} } }),
  });
  for (const hit of ((await res.json()) as { hits: { hits: Hit[] } }).hits.hits) {
    const match = /-(\d+)$/.exec(String(hit._source.id));
    if (match && ledger.state[Number(match[1])] === State.acked) docs.push(hit);
  }
  if (docs.length < 3) return { ok: false, detail: "not enough acknowledged documents to plant faults" };
  const [gone, twin, bent] = docs as [Hit, Hit, Hit];
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${opensearch}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${await r.text()}`);
  };
  await call("DELETE", `/${gone._index}/_doc/${encodeURIComponent(gone._id)}`);
  await call("PUT", `/${twin._index}/_doc/${encodeURIComponent(`${twin._id}-planted-twin`)}`, twin._source);
  await call("PUT", `/${bent._index}/_doc/${encodeURIComponent(bent._id)}`, {
    ...bent._source,
    message: `${String(bent._source.message)}!`,
  });
  await call("PUT", `/${bent._index}/_doc/planted-stranger`, { id: "stranger-1", message: "not sent by the client" });
  await call("POST", `/${pattern}/_refresh`);
  const after = await verifyIndices(opensearch, pattern, ledger);
  const deltas = {
    missing: after.missing - before.missing,
    duplicated: after.duplicated - before.duplicated,
    corrupted: after.corrupted - before.corrupted,
    unexpected: after.unexpected - before.unexpected,
  };
  const ok = deltas.missing === 1 && deltas.duplicated === 1 && deltas.corrupted === 1 && deltas.unexpected === 1;
  return {
    ok,
    detail: `planted 1 missing, 1 duplicated, 1 corrupted, 1 unknown; detected ${deltas.missing}, ${deltas.duplicated}, ${deltas.corrupted}, ${deltas.unexpected}`,
  };
}
