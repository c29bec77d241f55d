// The local stack as the consumer's integration tests use it: where Kafka and OpenSearch are, a Kafka admin and
// writer of the test's own, and what OpenSearch and Kafka hold, read back.
import { execFileSync } from "node:child_process";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";

export const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
export const opensearchUrl = new URL(process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200");
/** `opensearchUrl` without a trailing slash, to put a path after. */
export const opensearch = opensearchUrl.origin;
/** The consumer's settings for the two. */
export const stackEndpoints = { BARITO_KAFKA_BROKERS: brokers, BARITO_ELASTICSEARCH_URLS: opensearch };

/** An admin and a writer on the stack's Kafka, named after `clientId`; `connect` before use, `close` at the end. */
export function kafkaClients(clientId: string) {
  const admin = createKafkaAdmin({ brokers: [brokers], clientId });
  const writer = createKafkaPublisher({ brokers: [brokers], clientId: `${clientId}-writer` });
  return {
    admin,
    writer,
    connect: () => Promise.all([admin.connect(), writer.connect()]),
    close: () => Promise.allSettled([admin.close(), writer.close()]),
  };
}

/** Documents in `target` (an index, alias or pattern) after a refresh; a failed count throws. */
export async function documentCountOrThrow(target: string): Promise<number> {
  await fetch(`${opensearch}/${target}/_refresh`, { method: "POST" });
  const res = await fetch(`${opensearch}/${target}/_count`);
  if (!res.ok) throw new Error(`count of ${target} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { count: number }).count;
}

/** `documentCountOrThrow`, but 0 while there is nothing to count (no index yet, shards starting, no answer). */
export function documentCount(target: string): Promise<number> {
  return documentCountOrThrow(target).catch(() => 0);
}

export interface Hit {
  _id: string;
  _index: string;
  /** Only when the search asks for `version: true`. */
  _version: number;
  _source: Record<string, unknown>;
}

/** Up to 100 documents of `target` after a refresh, on OpenSearch or (`base`) an Elasticsearch. */
export async function searchHits(
  target: string,
  body: object = { query: { match_all: {} } },
  base = opensearch,
): Promise<Hit[]> {
  await fetch(`${base}/${target}/_refresh`, { method: "POST" });
  const res = await fetch(`${base}/${target}/_search?size=100`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const found = (await res.json()) as { hits?: { hits: Hit[] } };
  return found.hits?.hits ?? [];
}

/** The headers of every record on `topic`, one line per record (kcat); none when kcat fails. */
export function topicHeaders(topic: string): string[] {
  try {
    return execFileSync("kcat", ["-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\n"], {
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe"],
    })
      .toString()
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}
