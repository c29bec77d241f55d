// Requests of the image and compose checks: the seed README's bodies, a gRPC+zstd ProduceBatch through Connect's
// client, and the exactly-once query on OpenSearch.
import { createRequire } from "node:module";
import { join } from "node:path";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { repoRoot } from "./engine.ts";

// The seed README's request bodies (barito-flow's POST /produce and /produce_batch examples). Only es_index_prefix
// differs: the index is shared by every run on this OpenSearch, so each run reads back its own.
export function seedProduce(indexPrefix: string) {
  return {
    context: seedContext(indexPrefix),
    timestamp: "optional timestamp here",
    content: { hello: "world", key: "value", num: 100 },
  };
}
export function seedProduceBatch(indexPrefix: string) {
  return { context: seedContext(indexPrefix), items: [{ content: { timber_num: 1 } }, { content: { timber_num: 2 } }] };
}
export function seedContext(indexPrefix: string) {
  return {
    kafka_topic: "kafka_topic",
    kafka_partition: 1,
    kafka_replication_factor: 1,
    es_index_prefix: indexPrefix,
    es_document_type: "es_document_type",
    app_max_tps: 100,
    app_secret: "app_secret",
  };
}

export async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

interface ProducerClient {
  produceBatch(request: unknown): Promise<{ topic: string }>;
}

/** ProduceBatch through Connect's gRPC client with zstd, as the producer's own tests call it. */
export async function grpcProduceBatch(baseUrl: string, indexPrefix: string, marker: string): Promise<string> {
  // Resolved from the producer's dependencies: the repository root does not depend on Connect or the proto package.
  const fromProducer = createRequire(join(repoRoot, "apps", "producer", "package.json"));
  const { createClient } = fromProducer("@connectrpc/connect") as {
    createClient: (service: unknown, transport: unknown) => ProducerClient;
  };
  const { createGrpcTransport } = fromProducer("@connectrpc/connect-node") as {
    createGrpcTransport: (options: unknown) => unknown;
  };
  const { Producer } = fromProducer("@barito-flow/proto") as { Producer: unknown };
  const zstd = {
    name: "zstd",
    compress: async (bytes: Uint8Array) => new Uint8Array(zstdCompressSync(bytes)),
    decompress: async (bytes: Uint8Array, readMaxBytes: number) =>
      new Uint8Array(zstdDecompressSync(bytes, { maxOutputLength: readMaxBytes })),
  };
  const client = createClient(
    Producer,
    createGrpcTransport({ baseUrl, sendCompression: zstd, acceptCompression: [zstd] }),
  );
  const reply = await client.produceBatch({
    context: {
      kafkaTopic: "kafka_topic",
      kafkaPartition: 1,
      kafkaReplicationFactor: 1,
      esIndexPrefix: indexPrefix,
      appMaxTps: 100,
    },
    items: [1, 2, 3].map((n) => ({ content: { grpc_marker: marker, n } })),
  });
  return reply.topic;
}

/** seq values held by more than one document (a terms aggregation with min_doc_count 2). */
export async function duplicateSeqs(os: string, indices: string, marker: string): Promise<number> {
  const response = await fetch(`${os}/${indices}/_search?ignore_unavailable=true&allow_no_indices=true`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      size: 0,
      query: { term: { "load.keyword": marker } },
      aggs: { dupes: { terms: { field: "seq", size: 1000, min_doc_count: 2 } } },
    }),
  });
  const body = (await response.json()) as { aggregations?: { dupes: { buckets: unknown[] } } };
  return body.aggregations?.dupes.buckets.length ?? -1;
}
