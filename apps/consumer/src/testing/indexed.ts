// Which records of a run are in OpenSearch, exactly: the documents in the indices of `indexPrefix` and the sum of
// their `seq`. Ids are derived from the record's position, so a record indexed twice is one document: `count` is
// exact, and with `seqSum` it tells which records are there (0..n-1 once each gives n and n(n-1)/2). A cardinality
// aggregation would only estimate it. Dependency-free, so the image checks (scripts/images, run by Node from
// source) use it as the consumer's integration tests do.

export interface IndexedSeqs {
  count: number;
  seqSum: number;
}

// A search right after an index is created can answer 503 ("all shards failed") until its primaries start. That
// is not an answer about the documents, so it is asked again, for a bounded time; any other failure is final.
const shardsStartingMs = 30_000;

export async function indexedSeqs(opensearchOrigin: string, indexPrefix: string): Promise<IndexedSeqs> {
  const base = `${opensearchOrigin}/${indexPrefix}-*`;
  const deadline = Date.now() + shardsStartingMs;
  for (;;) {
    await fetch(`${base}/_refresh`, { method: "POST" });
    const res = await fetch(`${base}/_search?allow_no_indices=true`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        size: 0,
        track_total_hits: true,
        aggs: { seqSum: { sum: { field: "seq" } } },
      }),
    });
    if (res.status === 503 && Date.now() < deadline) {
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    if (!res.ok) throw new Error(`search of ${base} answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as {
      hits: { total: { value: number } };
      aggregations?: { seqSum: { value: number } };
    };
    return { count: body.hits.total.value, seqSum: body.aggregations?.seqSum.value ?? 0 };
  }
}

/** What `indexedSeqs` gives when the records 0..total-1 are each indexed once. */
export function indexedOnce(total: number): IndexedSeqs {
  return { count: total, seqSum: (total * (total - 1)) / 2 };
}
