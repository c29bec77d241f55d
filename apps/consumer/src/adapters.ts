// The consumer's real adapters, built from its configuration: the Kafka clients (group consumers, admin, the
// dead-letter publisher), OpenSearch (the bulk sink and the template client) and the redaction rules' source.
// main.ts composes them with the app; integration tests build the same ones against the local stack.
import {
  connectionFromSettings,
  createBatchConsumer,
  createKafkaAdmin,
  createKafkaPublisher,
  type KafkaAdmin,
} from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import {
  createBulkSink,
  createHttpBulkClient,
  createOpenSearchClient,
  ensureIndexTemplate,
} from "@barito-flow/opensearch-sink";
import type { ConsumerAdapters } from "./app.js";
import type { ConsumerConfig } from "./config.js";
import { createConsumerMetrics } from "./metrics.js";
import { baritoDataStreamTemplate } from "./opensearch/data-stream-template.js";
import { createRedactionMetrics, createRedactor, createRulesSource } from "./redaction/index.js";

/** The admin is the whole `KafkaAdmin`: `dlq` reads the dead-letter topic's offsets through it. */
export function createConsumerAdapters(
  config: ConsumerConfig,
  logger: Logger,
): ConsumerAdapters & { admin: KafkaAdmin } {
  const metrics = createConsumerMetrics();
  const connection = connectionFromSettings(config.kafka, logger.child({ component: "kafka" }));
  const { opensearch } = config;

  const clientOptions = {
    nodes: [...opensearch.urls],
    compression: opensearch.compression === "gzip",
    ...(opensearch.auth ? { username: opensearch.auth.username, password: opensearch.auth.password } : {}),
    ...(opensearch.tls
      ? {
          tls: {
            ca: opensearch.tls.caCertPath,
            cert: opensearch.tls.clientCertPath,
            key: opensearch.tls.clientKeyPath,
          },
        }
      : {}),
  } as Parameters<typeof createOpenSearchClient>[0];
  // opensearch-js for templates; the bulk requests, sent for every 2,000 documents or so, go through the sink's own
  // HTTP client (one encoded body, no JSON parse of an error-free answer).
  const client = createOpenSearchClient(clientOptions);
  const bulkClient = createHttpBulkClient(clientOptions);
  const sink = createBulkSink({
    client: bulkClient,
    // SingleInsert keeps barito's one-document-per-request behaviour through the same retrying sink.
    maxDocs: opensearch.indexMethod === "SingleInsert" ? 1 : opensearch.bulkSize,
    maxBytes: opensearch.flushBytes,
    flushIntervalMs: opensearch.flushIntervalMs,
    maxInFlight: opensearch.maxInFlight,
    maxBufferedDocs: opensearch.maxBufferedDocs,
    logger: logger.child({ component: "sink" }),
    onFlush: (stats) => {
      metrics.bulkTime.observe(stats.durationMs / 1000);
      metrics.bulkLatency.observe({ ok: String(stats.ok) }, stats.durationMs / 1000);
      if (stats.retried) metrics.retried.inc(stats.retried);
    },
  });

  const redactionMetrics = createRedactionMetrics(metrics.registry);
  const redactor = createRedactor({
    onDocument: (app, bytes) => redactionMetrics.documentBytes.inc({ app_name: app }, bytes),
  });
  const rules = createRulesSource({
    settings: config.redaction,
    redactor,
    metrics: redactionMetrics,
    logger: logger.child({ component: "redaction" }),
  });

  return {
    metrics,
    sink,
    deadLetters: createKafkaPublisher({ ...connection, clientId: `${connection.clientId}-dlq` }),
    admin: createKafkaAdmin(connection),
    createConsumer: (options) => createBatchConsumer({ ...connection, ...options }),
    ensureDataStream: async (indexPrefix) => {
      await ensureIndexTemplate(client, baritoDataStreamTemplate(indexPrefix, opensearch.dataStreamComponentTemplate));
    },
    redaction: { rules, redact: redactor.redact },
    releaseClients: async () => {
      bulkClient.close();
      await client.close();
    },
  };
}
