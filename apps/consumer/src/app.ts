import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConsumerConfig } from "@barito-flow/config";
import {
  connectionFromSettings,
  createBatchConsumer,
  createKafkaAdmin,
  createKafkaPublisher,
} from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import {
  baritoDataStreamTemplate,
  createBulkSink,
  createOpenSearchBulkClient,
  createOpenSearchClient,
  ensureIndexTemplate,
} from "@barito-flow/opensearch-sink";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { createConsumerMetrics } from "./metrics.js";
import { createLogPipeline } from "./pipeline/log-pipeline.js";
import { createRedactionMetrics, createRedactor, createRulesSource } from "./redaction/index.js";

export interface ConsumerApp {
  start(): Promise<void>;
  /** Health and metrics listener; resolves with the bound port. */
  listen(address: { host: string; port: number }): Promise<number>;
  readiness(): { ready: boolean; checks: Record<string, string | boolean> };
  processed(): number;
  stop(timeoutMs: number): Promise<void>;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Topics written by the producer: `<prefix><app><suffix>`. */
export function logTopicPattern(prefix: string, suffix: string): RegExp {
  return new RegExp(`^${escapeRegex(prefix)}.*${escapeRegex(suffix)}$`);
}

/** Composes Kafka → decode → OpenSearch with its dead-letter topic, health and metrics. Reads no env. */
export interface ConsumerAppOptions {
  /** Documents of one partition waiting in the sink before that partition is paused (default 5000). */
  maxInFlightPerPartition?: number;
}

export function createConsumerApp(
  config: ConsumerConfig,
  logger: Logger,
  appOptions: ConsumerAppOptions = {},
): ConsumerApp {
  const metrics = createConsumerMetrics();
  const connection = connectionFromSettings(config.kafka, logger.child({ component: "kafka" }));
  const { opensearch, consumer: settings } = config;

  const client = createOpenSearchClient({
    nodes: [...opensearch.urls],
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
  } as Parameters<typeof createOpenSearchClient>[0]);
  const sink = createBulkSink({
    client: createOpenSearchBulkClient(client),
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
  const dlq = createKafkaPublisher({ ...connection, clientId: `${connection.clientId}-dlq` });
  const admin = createKafkaAdmin(connection);

  const redactionMetrics = createRedactionMetrics(metrics.registry);
  const redactor = createRedactor({
    onDocument: (app, bytes) => redactionMetrics.documentBytes.inc({ app_name: app }, bytes),
  });
  const rulesSource = createRulesSource({
    settings: config.redaction,
    redactor,
    metrics: redactionMetrics,
    logger: logger.child({ component: "redaction" }),
  });
  let rulesLoaded: Promise<void> | undefined;

  const pipeline = createLogPipeline({
    createConsumer: (listener) =>
      createBatchConsumer({
        ...connection,
        ...listener,
        groupId: settings.groupId,
        fromBeginning: settings.initialOffset === "earliest",
        sessionTimeoutMs: settings.sessionTimeoutMs,
        // Regex subscriptions see new topics at each metadata refresh: this bounds discovery time.
        topicRefreshIntervalMs: Math.min(2_000, settings.topicRescanIntervalMs),
        partitionsConsumedConcurrently: 4,
        librdkafka: { "partition.assignment.strategy": "cooperative-sticky" },
      }),
    sink,
    dlq,
    dlqTopic: settings.dlqTopic,
    topicPattern: logTopicPattern(config.kafka.topicPrefix, config.kafka.topicSuffix),
    excludedTopics: [settings.dlqTopic, config.kafka.newTopicEventTopic],
    indexMethod: opensearch.indexMethod,
    useProcessingDate: opensearch.indexDate === "processing",
    ensureDataStream: async (prefix) => {
      await ensureIndexTemplate(client, baritoDataStreamTemplate(prefix, opensearch.dataStreamComponentTemplate));
    },
    metrics,
    logger: logger.child({ component: "pipeline" }),
    ...(appOptions.maxInFlightPerPartition ? { maxInFlightPerPartition: appOptions.maxInFlightPerPartition } : {}),
    ...(rulesSource.kind === "none" ? {} : { redact: redactor.redact }),
  });

  const http = new Hono();
  const readiness = () => {
    const sinkHealth = sink.health();
    const consuming = pipeline.isRunning();
    const rules = rulesSource.status();
    return {
      ready: consuming && sinkHealth.state === "ok" && rules.loaded,
      checks: {
        consuming,
        opensearch: sinkHealth.state,
        ...(rules.kind === "none" ? {} : { redactionRules: rules.loaded ? "loaded" : "loading" }),
      },
    };
  };
  http.get("/healthz", (c) => c.json({ status: "ok" }));
  http.get("/readyz", (c) => {
    const r = readiness();
    return c.json({ status: r.ready ? "ready" : "degraded", checks: r.checks }, r.ready ? 200 : 503);
  });
  http.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
  let server: Server | undefined;
  let stopped: Promise<void> | undefined;

  return {
    readiness,
    processed: () => pipeline.processed(),
    async start() {
      // Nothing is consumed before the first rules arrive: indexing unredacted logs cannot be undone.
      rulesLoaded ??= rulesSource.start().catch((err: unknown) => {
        rulesLoaded = undefined;
        throw err;
      });
      await rulesLoaded;
      // The dead-letter topic must exist before the first poison record; the publisher never auto-creates.
      await admin.connect();
      await admin.createTopic({ topic: settings.dlqTopic, partitions: -1, replicationFactor: -1 });
      await dlq.connect();
      await pipeline.start();
    },
    listen(address) {
      server = createServer(getRequestListener(http.fetch));
      const listening = server;
      return new Promise((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(address.port, address.host, () => resolve((listening.address() as AddressInfo).port));
      });
    },
    stop(timeoutMs) {
      stopped ??= (async () => {
        rulesSource.stop();
        await pipeline.stop(timeoutMs);
        await sink.close({ timeoutMs: 1_000 });
        await Promise.allSettled([dlq.close(), admin.close(), client.close()]);
        server?.close();
        server?.closeAllConnections();
      })();
      return stopped;
    },
  };
}
