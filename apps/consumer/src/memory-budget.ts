import type { ConsumerSettings, OpenSearchSettings } from "./config.js";

const mib = 1_048_576;

/**
 * librdkafka's fetch settings for a prefetch of `prefetchBytes`. Its queue bound counts decompressed records, but one
 * fetch response arrives whole before it is counted, and zstd log batches expand 5-40 times: the response (counted
 * compressed) stays small, `prefetchBytes / 16` in all and 256 KiB per partition. The byte bound alone decides when to
 * fetch; once it is reached, the next fetch waits 10 ms (librdkafka's 1 s left the pipeline idle between fetches).
 */
export function consumerFetchProperties(prefetchBytes: number): Record<string, number> {
  return {
    "queued.max.messages.kbytes": Math.floor(prefetchBytes / 1_024),
    "fetch.max.bytes": Math.max(mib, Math.floor(prefetchBytes / 16)),
    "fetch.message.max.bytes": 256 * 1_024,
    "fetch.queue.backoff.ms": 10,
  };
}

/** What the consumer holds besides V8's heap and its prefetch: native clients, buffers, code. */
const consumerFixedOverheadBytes = 96 * mib;

/**
 * Why V8's heap limit, the prefetch (counted three times: librdkafka's queue, the fetched response, the records copied
 * to JavaScript) and the sink's open requests cannot fit in the memory budget, or undefined when they fit. The sink's
 * buffered documents live on V8's heap and are bounded by its limit.
 */
export function memoryBudgetProblem(
  config: { consumer: ConsumerSettings; opensearch: OpenSearchSettings },
  heapLimitBytes: number,
  budgetBytes: number | undefined,
): string | undefined {
  if (budgetBytes === undefined) return undefined;
  const prefetch = 3 * config.consumer.prefetchBytes;
  const requests = config.opensearch.flushBytes * (config.opensearch.maxInFlight + 1);
  const needed = heapLimitBytes + prefetch + requests + consumerFixedOverheadBytes;
  if (needed <= budgetBytes) return undefined;
  const inMib = (bytes: number) => `${Math.round(bytes / mib)} MiB`;
  return (
    `the memory budget (${inMib(budgetBytes)}) cannot hold V8's heap limit (${inMib(heapLimitBytes)}) + ` +
    `3 × BARITO_CONSUMER_PREFETCH_BYTES (${inMib(prefetch)}) + BARITO_ELASTICSEARCH_FLUSH_BYTES × ` +
    `(BARITO_ELASTICSEARCH_MAX_IN_FLIGHT + 1) (${inMib(requests)}) + ${inMib(consumerFixedOverheadBytes)} of ` +
    `native clients and code = ${inMib(needed)}: lower the heap (NODE_OPTIONS=--max-old-space-size-percentage=50, ` +
    "as the image sets) or these settings, or raise BARITO_CONSUMER_MEMORY_BUDGET / the container's limit"
  );
}
