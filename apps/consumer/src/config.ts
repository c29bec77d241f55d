import {
  allIssues,
  booleanVar,
  byteSizeVar,
  checkKafkaName,
  checkListenerTls,
  checkPair,
  checkSharedEnv,
  checkUrl,
  csvVar,
  durationVar,
  enumVar,
  exporterTlsNames,
  exporterTlsShape,
  fromConsul,
  inertSharedVariables,
  integerVar,
  loadConfig,
  sharedEnvShape,
  stringVar,
  toListenerTls,
  toSharedConfig,
  urlVar,
} from "@barito-flow/config";
import { tlsFilesProblem } from "@barito-flow/tls";
import type { DeepReadonly, Env, TlsFiles } from "@barito-flow/config";
import { z } from "zod";

export type IndexMethod = "BulkProcessor" | "DataStream" | "SingleInsert";

// Accepted (and validated) for barito-flow compatibility, without effect here: see README.md for what replaces each.
const inertConsumerVariables = [
  ...inertSharedVariables,
  "BARITO_CONSUMER_REBALANCING_STRATEGY",
  "BARITO_CONSUMER_MAX_PROCESSING_TIME",
  "BARITO_CONSUMER_CHANNEL_BUFFER_SIZE",
  "BARITO_CONSUMER_ELASTICSEARCH_RETRIER_INTERVAL",
  "BARITO_CONSUMER_ELASTICSEARCH_RETRIER_MAX_RETRY",
] as const;

/** Every consumer variable (names of barito-flow Go, §2.1 and §2.3, plus the new ones); see README.md. */
export const consumerEnvShape = {
  ...sharedEnvShape,
  // No default here: empty means Consul when BARITO_CONSUL_URL is set, http://localhost:9200 otherwise.
  BARITO_ELASTICSEARCH_URLS: csvVar({ item: (entry) => checkUrl(entry, ["http:", "https:"]) }),
  BARITO_CONSUL_ELASTICSEARCH_NAME: stringVar({ default: "elasticsearch" }),
  BARITO_KAFKA_GROUP_ID: stringVar({ default: "barito-group" }),
  BARITO_KAFKA_UNIQUE_GROUP_ID: booleanVar({ default: false }),
  BARITO_ELASTICSEARCH_INDEX_METHOD: enumVar(["BulkProcessor", "DataStream", "SingleInsert"], {
    default: "BulkProcessor",
  }),
  BARITO_ELASTICSEARCH_BULK_SIZE: integerVar({ default: 100, min: 1 }),
  BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: durationVar({ default: 500, unit: "ms", minMs: 1 }),
  BARITO_ELASTICSEARCH_FLUSH_BYTES: byteSizeVar({ default: 5 * 1_048_576, min: 1 }),
  BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: integerVar({ default: 2, min: 1 }),
  BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS: integerVar({ default: 20_000, min: 1 }),
  BARITO_CONSUMER_PREFETCH_BYTES: byteSizeVar({ default: 16 * 1_048_576, min: 1_048_576 }),
  BARITO_CONSUMER_MEMORY_BUDGET: byteSizeVar({ min: 64 * 1_048_576 }),
  BARITO_ELASTICSEARCH_COMPRESSION: enumVar(["auto", "gzip", "none"], { default: "auto" }),
  BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: stringVar({ default: "barito-default-replica" }),
  BARITO_CONSUMER_ELASTICSEARCH_RETRIER_INTERVAL: durationVar({ unit: "s" }),
  BARITO_CONSUMER_ELASTICSEARCH_RETRIER_MAX_RETRY: integerVar({ min: 0 }),
  ELASTIC_USERNAME: stringVar(),
  ELASTIC_PASSWORD: stringVar({ trim: false }),
  BARITO_CONSUMER_ELASTICSEARCH_CA_CERT: stringVar(),
  BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT: stringVar(),
  BARITO_CONSUMER_ELASTICSEARCH_CLIENT_KEY: stringVar(),
  BARITO_CONSUMER_REBALANCING_STRATEGY: enumVar(["RoundRobin", "Range"]),
  BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: durationVar({ default: 20, unit: "s", minMs: 1 }),
  BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: durationVar({ default: 6, unit: "s", minMs: 1 }),
  BARITO_CONSUMER_GROUP_INSTANCE_ID: stringVar({ check: checkKafkaName }),
  BARITO_CONSUMER_MAX_PROCESSING_TIME: durationVar({ unit: "ms", minMs: 1 }),
  BARITO_CONSUMER_CHANNEL_BUFFER_SIZE: integerVar({ min: 1 }),
  BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: durationVar({ default: "30s", unit: "s", minMs: 1_000 }),
  BARITO_CONSUMER_INITIAL_OFFSET: enumVar(["earliest", "latest"], { default: "earliest" }),
  BARITO_CONSUMER_INDEX_DATE: enumVar(["timestamp", "processing"], { default: "timestamp" }),
  BARITO_CONSUMER_DLQ_TOPIC: stringVar({ default: "barito_dlq", check: checkKafkaName }),
  BARITO_PRINT_TPS: booleanVar({ default: false }),
  REDACTOR_RULES_MAP: stringVar(),
  BARITO_REDACTOR_RULES_FILE: stringVar(),
  BARITO_MARKET_REDACT_ENDPOINT_URL: urlVar(),
  BARITO_CLUSTER_NAME: stringVar(),
  MARKET_REDACT_CLIENT_KEY: stringVar({ trim: false }),
  ...exporterTlsShape,
};

export const consumerEnvSchema = z
  .object(consumerEnvShape)
  .superRefine((env, ctx) => {
    checkSharedEnv(env, ctx);
    checkListenerTls(ctx, env, exporterTlsNames, tlsFilesProblem);
    checkPair(ctx, env, "BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT", "BARITO_CONSUMER_ELASTICSEARCH_CLIENT_KEY");
    if (env.ELASTIC_PASSWORD !== undefined && env.ELASTIC_USERNAME === undefined) {
      ctx.addIssue({ code: "custom", path: ["ELASTIC_USERNAME"], message: "is required when ELASTIC_PASSWORD is set" });
    }
    const heartbeat = env.BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL;
    const session = env.BARITO_CONSUMER_GROUP_SESSION_TIMEOUT;
    if (typeof heartbeat === "number" && typeof session === "number" && heartbeat >= session) {
      ctx.addIssue({
        code: "custom",
        path: ["BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL"],
        message: "must be lower than BARITO_CONSUMER_GROUP_SESSION_TIMEOUT",
      });
    }
  }, allIssues)
  .transform((env) => {
    const tlsSet =
      env.BARITO_CONSUMER_ELASTICSEARCH_CA_CERT !== undefined ||
      env.BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT !== undefined;
    const tls: TlsFiles | undefined = tlsSet
      ? {
          caCertPath: env.BARITO_CONSUMER_ELASTICSEARCH_CA_CERT,
          clientCertPath: env.BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT,
          clientKeyPath: env.BARITO_CONSUMER_ELASTICSEARCH_CLIENT_KEY,
        }
      : undefined;
    const consumer: ConsumerSettings = {
      groupId: env.BARITO_KAFKA_GROUP_ID,
      uniqueGroupId: env.BARITO_KAFKA_UNIQUE_GROUP_ID,
      sessionTimeoutMs: env.BARITO_CONSUMER_GROUP_SESSION_TIMEOUT,
      heartbeatIntervalMs: env.BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL,
      groupInstanceId: env.BARITO_CONSUMER_GROUP_INSTANCE_ID,
      topicRescanIntervalMs: env.BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL,
      initialOffset: env.BARITO_CONSUMER_INITIAL_OFFSET,
      dlqTopic: env.BARITO_CONSUMER_DLQ_TOPIC,
      printTps: env.BARITO_PRINT_TPS,
      prefetchBytes: env.BARITO_CONSUMER_PREFETCH_BYTES,
      memoryBudgetBytes: env.BARITO_CONSUMER_MEMORY_BUDGET,
    };
    const urlsFromConsul = fromConsul(env.BARITO_ELASTICSEARCH_URLS, env.BARITO_CONSUL_URL);
    const urls = env.BARITO_ELASTICSEARCH_URLS ?? (urlsFromConsul ? [] : ["http://localhost:9200"]);
    const opensearch: OpenSearchSettings = {
      urls,
      consulService: urlsFromConsul ? env.BARITO_CONSUL_ELASTICSEARCH_NAME : undefined,
      indexMethod: env.BARITO_ELASTICSEARCH_INDEX_METHOD,
      indexDate: env.BARITO_CONSUMER_INDEX_DATE,
      bulkSize: env.BARITO_ELASTICSEARCH_BULK_SIZE,
      flushIntervalMs: env.BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS,
      flushBytes: env.BARITO_ELASTICSEARCH_FLUSH_BYTES,
      maxInFlight: env.BARITO_ELASTICSEARCH_MAX_IN_FLIGHT,
      maxBufferedDocs: env.BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS,
      // Instances from Consul are taken to be across a network: `auto` compresses.
      compression: resolveCompression(
        env.BARITO_ELASTICSEARCH_COMPRESSION,
        urlsFromConsul ? ["http://consul.invalid"] : urls,
      ),
      dataStreamComponentTemplate: env.BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME,
      auth:
        env.ELASTIC_USERNAME === undefined
          ? undefined
          : { username: env.ELASTIC_USERNAME, password: env.ELASTIC_PASSWORD ?? "" },
      tls,
    };
    const redaction: RedactionSettings = {
      rulesMap: env.REDACTOR_RULES_MAP,
      rulesFile: env.BARITO_REDACTOR_RULES_FILE,
      marketEndpointUrl: env.BARITO_MARKET_REDACT_ENDPOINT_URL,
      marketClientKey: env.MARKET_REDACT_CLIENT_KEY,
      clusterName: env.BARITO_CLUSTER_NAME,
    };
    return {
      ...toSharedConfig(env, env, "barito-flow-consumer", inertConsumerVariables),
      consumer,
      opensearch,
      redaction,
      exporterTls: toListenerTls(env, exporterTlsNames),
    };
  });

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * `auto`: gzip pays where bytes cost (a real network, often billed across zones), not on loopback, where it only
 * burns CPU on both ends (the consumer compresses, the cluster decompresses) that the cluster needs for indexing.
 */
export function resolveCompression(setting: "auto" | "gzip" | "none", urls: readonly string[]): "gzip" | "none" {
  if (setting !== "auto") return setting;
  const local = urls.every((url) => {
    const host = new URL(url).hostname.toLowerCase();
    return loopbackHosts.has(host) || host.startsWith("127.");
  });
  return local ? "none" : "gzip";
}

/**
 * Why the sink's buffer is too small to keep its requests coming, or undefined. One partition may hold half of
 * `maxBufferedDocs`, and it must be able to fill every request slot with full bulks and have the next ones waiting:
 * otherwise each returning request waits for the partition's documents to drain first (measured with 4 × 2,000 in
 * flight: 10,000 buffered documents indexed about 10% slower than 20,000; 40,000 no faster than 20,000).
 */
export function sinkBufferShortfall(opensearch: OpenSearchSettings): string | undefined {
  if (opensearch.indexMethod === "SingleInsert") return undefined;
  const needed = 2 * opensearch.bulkSize * opensearch.maxInFlight;
  if (opensearch.maxBufferedDocs >= needed) return undefined;
  return (
    `BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS (${opensearch.maxBufferedDocs}) is below twice BARITO_ELASTICSEARCH_BULK_SIZE ` +
    `× BARITO_ELASTICSEARCH_MAX_IN_FLIGHT (${needed}): bulk requests will wait for documents; raise it to at least ${needed}`
  );
}

export interface ConsumerSettings {
  groupId: string;
  /** One consumer group per topic: `<groupId>_<topic>`. */
  uniqueGroupId: boolean;
  /**
   * Static group membership (`group.instance.id`): a restarted replica with the same id takes its partitions back at
   * once instead of after the session timeout. Must be unique per running process (e.g. the pod name).
   */
  groupInstanceId: string | undefined;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  topicRescanIntervalMs: number;
  initialOffset: "earliest" | "latest";
  dlqTopic: string;
  printTps: boolean;
  /** Records fetched ahead of the pipeline, in decompressed bytes (librdkafka's `queued.max.messages.kbytes`). */
  prefetchBytes: number;
  /** The process's memory budget (e.g. the container limit); undefined: the cgroup's limit, when there is one. */
  memoryBudgetBytes: number | undefined;
}

export interface OpenSearchSettings {
  /** Empty when they come from Consul (`consulService`) until the consumer resolved them. */
  urls: readonly string[];
  /** Set when the URLs come from Consul: BARITO_ELASTICSEARCH_URLS empty and BARITO_CONSUL_URL set. */
  consulService: string | undefined;
  indexMethod: IndexMethod;
  /** Which date names the daily index: the event's timestamp or the time of processing. */
  indexDate: "timestamp" | "processing";
  bulkSize: number;
  flushIntervalMs: number;
  flushBytes: number;
  maxInFlight: number;
  maxBufferedDocs: number;
  /** Request body compression, `auto` resolved: gzip unless every URL is a loopback address. */
  compression: "gzip" | "none";
  dataStreamComponentTemplate: string;
  auth: { username: string; password: string } | undefined;
  tls: TlsFiles | undefined;
}

export interface RedactionSettings {
  /** Inline rules (JSON), instead of fetching them from BaritoMarket. */
  rulesMap: string | undefined;
  rulesFile: string | undefined;
  marketEndpointUrl: string | undefined;
  marketClientKey: string | undefined;
  clusterName: string | undefined;
}

export type ConsumerConfig = DeepReadonly<z.output<typeof consumerEnvSchema>>;

/** `loadConfig(consumerEnvSchema, env)`: the consumer's validated, frozen configuration. Throws `ConfigError`. */
export function loadConsumerConfig(env: Env = process.env): ConsumerConfig {
  return loadConfig(consumerEnvSchema, env);
}
