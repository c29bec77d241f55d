// Run: pnpm --filter @barito-flow/opensearch-sink build && node packages/opensearch-sink/examples/quick-start.mjs
// Needs OpenSearch at OPENSEARCH_URL (default http://127.0.0.1:9200), e.g. from `pnpm stack up`.
import { createBulkSink, createOpenSearchBulkClient, createOpenSearchClient } from "@barito-flow/opensearch-sink";

const client = createOpenSearchClient({ nodes: [process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200"] });
const sink = createBulkSink({
  client: createOpenSearchBulkClient(client),
  maxDocs: 100,
  flushIntervalMs: 500,
  onFlush: (s) => console.log(`bulk: ${s.docs} docs in ${s.durationMs} ms, ok=${s.ok}`),
});

const index = `quick-start-${new Date().toISOString().slice(0, 10).replaceAll("-", ".")}`;
const outcomes = await Promise.all(
  Array.from({ length: 250 }, (_, i) =>
    sink.add({
      action: "index",
      index,
      id: `quick-start-0-${i}`, // deterministic: running the example twice overwrites, never duplicates
      document: JSON.stringify({ "@timestamp": new Date().toISOString(), message: `hello ${i}` }),
    }),
  ),
);
const rejected = sink.add({ action: "index", index, id: "bad", document: '{"message":{"not":"a string"}}' });
console.log("rejected:", await rejected);
const counts = {};
for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
console.log("outcomes:", counts); // { indexed: 250 }
console.log("stats:", sink.stats());

await sink.close({ timeoutMs: 5_000 });
await client.indices.delete({ index });
await client.close();
