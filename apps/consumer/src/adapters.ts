// The consumer's real adapters, built from its configuration: the Kafka clients (group consumers, admin, the
// dead-letter publisher), OpenSearch (the bulk sink and the template client) and the redaction rules' source.
// main.ts composes them with the app; integration tests build the same ones against the local stack.
import type { DiscoveredServices } from "@barito-flow/consul-discovery";
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
import { createCountedPushMetrics } from "@barito-flow/push-metrics/prometheus";
import { createRedactionMetrics, createRedactor, createRulesSource } from "./redaction/index.js";

/**
 * The admin is the whole `KafkaAdmin`: `dlq` reads the dead-letter topic's offsets through it. `services`: what
 * Consul resolved at startup (main.ts), asked again when connections fail: the Kafka bootstrap brokers before every
 * new Kafka client, the OpenSearch nodes after every failed bulk request.
 */
export function createConsumerAdapters(
  config: ConsumerConfig,
  logger: Logger,
  services: DiscoveredServices = {},
): ConsumerAdapters & { admin: KafkaAdmin } {
  const metrics = createConsumerMetrics();
  const connection = {
    ...connectionFromSettings(
      { ...config.kafka, brokers: services.kafka?.current() ?? config.kafka.brokers },
      logger.child({ component: "kafka" }),
    ),
    ...(services.kafka ? { resolveBrokers: services.kafka.refresh } : {}),
  };
  const { opensearch } = config;

  const clientOptions = {
    nodes: [...(services.elasticsearch?.current() ?? opensearch.urls)],
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
  let client = createOpenSearchClient(clientOptions);
  const bulkClient = createHttpBulkClient(clientOptions);
  let nodes = clientOptions.nodes.join(",");
  const followNodes = () =>
    void services.elasticsearch?.refresh().then((urls) => {
      if (urls === undefined || urls.join(",") === nodes) return;
      nodes = urls.join(",");
      bulkClient.setNodes(urls);
      const previous = client;
      client = createOpenSearchClient({ ...clientOptions, nodes: [...urls] });
      void previous.close().catch(() => {});
    });
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
      // A request that got no per-item answer: the nodes may have moved (resolved at most every 5 s).
      if (!stats.ok) followNodes();
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

  const pushMetrics = createCountedPushMetrics("barito_consumer", config.metrics, metrics.registry, logger);
  return {
    metrics,
    ...(pushMetrics ? { pushMetrics } : {}),
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
