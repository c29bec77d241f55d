import { randomUUID } from "node:crypto";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  connectionFromSettings,
  createBatchConsumer,
  createKafkaAdmin,
  createKafkaPublisher,
} from "@barito-flow/kafka";
import { type StopResult, withDeadline } from "@barito-flow/lifecycle";
import type { Logger } from "@barito-flow/logger";
import {
  createBulkSink,
  createHttpBulkClient,
  createOpenSearchClient,
  ensureIndexTemplate,
} from "@barito-flow/opensearch-sink";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import type { ConsumerConfig } from "./config.js";
import { consumerFetchProperties } from "./memory-budget.js";
import { createConsumerMetrics } from "./metrics.js";
import { baritoDataStreamTemplate } from "./opensearch/data-stream-template.js";
import { createLogPipeline, type LogPipeline } from "./pipeline/log-pipeline.js";
import { createTopicDiscovery } from "./pipeline/topic-discovery.js";
import { createRedactionMetrics, createRedactor, createRulesSource } from "./redaction/index.js";

export interface ConsumerApp {
  start(): Promise<void>;
  /** Health and metrics listener; resolves with the bound port. */
  listen(address: { host: string; port: number }): Promise<number>;
  readiness(): { ready: boolean; checks: Record<string, string | boolean> };
  processed(): number;
  /** Stops within `timeoutMs`: see `LogPipeline.stop` for what the result says. */
  stop(timeoutMs: number): Promise<StopResult>;
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
  // opensearch-js for templates and single inserts; the bulk requests, sent for every 2,000 documents or so, go
  // through the sink's own HTTP client (one encoded body, no JSON parse of an error-free answer).
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

  const excludedTopics = [settings.dlqTopic, config.kafka.newTopicEventTopic];
  const logTopics = logTopicPattern(config.kafka.topicPrefix, config.kafka.topicSuffix);

  function newPipeline(groupId: string, subscription: readonly (string | RegExp)[]): LogPipeline {
    return createLogPipeline({
      createConsumer: (listener) =>
        createBatchConsumer({
          ...connection,
          ...listener,
          groupId,
          fromBeginning: settings.initialOffset === "earliest",
          sessionTimeoutMs: settings.sessionTimeoutMs,
          // The periodic metadata refresh is the rescan of a pattern subscription; announcements force one sooner.
          topicRefreshIntervalMs: settings.topicRescanIntervalMs,
          partitionsConsumedConcurrently: 4,
          librdkafka: {
            "partition.assignment.strategy": "cooperative-sticky",
            "heartbeat.interval.ms": settings.heartbeatIntervalMs,
            ...consumerFetchProperties(settings.prefetchBytes),
            ...(settings.groupInstanceId ? { "group.instance.id": settings.groupInstanceId } : {}),
          },
        }),
      sink,
      dlq,
      dlqTopic: settings.dlqTopic,
      subscription,
      excludedTopics,
      indexMethod: opensearch.indexMethod,
      useProcessingDate: opensearch.indexDate === "processing",
      ensureDataStream: async (prefix) => {
        await ensureIndexTemplate(client, baritoDataStreamTemplate(prefix, opensearch.dataStreamComponentTemplate));
      },
      metrics,
      logger: logger.child({ component: "pipeline", groupId }),
      // Half the sink's buffer: enough for one busy partition to keep every bulk slot filled (5,000 starved the
      // sink whenever fewer than four partitions had records left), while a partition whose documents keep failing
      // still leaves the other half to the rest.
      maxInFlightPerPartition:
        appOptions.maxInFlightPerPartition ?? Math.max(1, Math.floor(opensearch.maxBufferedDocs / 2)),
      ...(rulesSource.kind === "none" ? {} : { redact: redactor.redact }),
    });
  }

  // One group for every log topic (a pattern subscription), or barito's BARITO_KAFKA_UNIQUE_GROUP_ID mode: a
  // group `<group>_<topic>` and a pipeline per topic, started as topics are discovered.
  const pipelines = new Map<string, LogPipeline>();
  const shared = settings.uniqueGroupId ? undefined : newPipeline(settings.groupId, [logTopics]);
  if (shared) pipelines.set(settings.groupId, shared);
  const discovery = createTopicDiscovery({
    listTopics: () => admin.listTopics(),
    isLogTopic: (topic) => logTopics.test(topic) && !excludedTopics.includes(topic),
    createEventConsumer: () =>
      createBatchConsumer({
        ...connection,
        // Every consumer process must see every announcement, so each reads them in a group of its own.
        groupId: `${settings.groupId}-nte-${randomUUID()}`,
        fromBeginning: true,
        sessionTimeoutMs: settings.sessionTimeoutMs,
      }),
    eventTopic: config.kafka.newTopicEventTopic,
    rescanIntervalMs: settings.topicRescanIntervalMs,
    onTopics: async (topics, source) => {
      if (shared) {
        if (source === "start") return;
        await shared.refreshTopics();
        // The announcement can arrive before the broker serving our metadata knows the topic: look once more.
        setTimeout(() => void shared.refreshTopics().catch(() => {}), 1_000).unref();
        return;
      }
      for (const topic of topics) {
        const groupId = `${settings.groupId}_${topic}`;
        const pipeline = newPipeline(groupId, [topic]);
        pipelines.set(groupId, pipeline);
        await pipeline.start();
      }
    },
    logger: logger.child({ component: "discovery" }),
  });
  let consuming = false;

  const http = new Hono();
  const readiness = () => {
    const sinkHealth = sink.health();
    const running = consuming && [...pipelines.values()].every((pipeline) => pipeline.isRunning());
    const rules = rulesSource.status();
    return {
      ready: running && sinkHealth.state === "ok" && rules.loaded,
      checks: {
        consuming: running,
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
  let stopped: Promise<StopResult> | undefined;

  return {
    readiness,
    processed: () => [...pipelines.values()].reduce((sum, pipeline) => sum + pipeline.processed(), 0),
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
      // Subscribing to a missing announcement topic would only log errors until the first producer creates it.
      await admin.createTopic({ topic: config.kafka.newTopicEventTopic, partitions: -1, replicationFactor: -1 });
      await dlq.connect();
      await shared?.start();
      await discovery.start();
      consuming = true;
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
        const deadline = Date.now() + timeoutMs;
        rulesSource.stop();
        const results = await Promise.all([
          withDeadline(
            discovery.stop().then(() => true),
            timeoutMs,
          ),
          ...[...pipelines.values()].map((pipeline) => pipeline.stop(timeoutMs)),
        ]).then(([discoveryStopped, ...stops]) => ({
          drained: stops.every((stop) => stop.drained),
          closed: discoveryStopped === true && stops.every((stop) => stop.closed),
        }));
        // The pipelines have drained the sink as far as they could; what is left cannot be committed anyway.
        await sink.close({ timeoutMs: 1_000 });
        const clientsClosed = await withDeadline(
          Promise.allSettled([dlq.close(), admin.close(), client.close()]).then(() => true),
          Math.max(1_000, deadline - Date.now()),
        );
        bulkClient.close();
        server?.close();
        server?.closeAllConnections();
        return { drained: results.drained, closed: results.closed && clientsClosed === true };
      })();
      return stopped;
    },
  };
}
