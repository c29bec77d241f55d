import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type {
  BatchConsumer,
  BatchConsumerOptions,
  KafkaAdmin,
  KafkaConnectionOptions,
  MessagePublisher,
} from "@barito-flow/kafka";
import {
  type HealthPath,
  healthAnswer,
  requireBearerToken,
  type StopResult,
  waitUntil,
  withDeadline,
} from "@barito-flow/lifecycle";
import type { Logger } from "@barito-flow/logger";
import type { BulkSink } from "@barito-flow/opensearch-sink";
import type { PushMetrics } from "@barito-flow/push-metrics";
import { statusResponse } from "@barito-flow/status-page";
import { createHttpListener, type TlsCertificates, warnIfCleartext } from "@barito-flow/tls";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import type { ConsumerConfig } from "./config.js";
import { consumerFetchProperties } from "./memory-budget.js";
import { type ConsumerMetrics, createConsumerMetrics } from "./metrics.js";
import { createLogPipeline, type LogPipeline } from "./pipeline/log-pipeline.js";
import { createTopicDiscovery } from "./pipeline/topic-discovery.js";
import type { RulesSource } from "./redaction/index.js";
import { createConsumerStatus } from "./status.js";

export interface ConsumerApp {
  start(): Promise<void>;
  /** Health, metrics and status page listener; resolves with the bound port. */
  listen(address: { host: string; port: number }): Promise<number>;
  readiness(): { ready: boolean; checks: Record<string, string | boolean> };
  processed(): number;
  /** Stops within `timeoutMs`: see `LogPipeline.stop` for what the result says. */
  stop(timeoutMs: number): Promise<StopResult>;
}

/** A group consumer's settings as the app chooses them; the factory adds the connection (brokers, TLS, SASL). */
export type GroupConsumerOptions = Omit<BatchConsumerOptions, keyof KafkaConnectionOptions> &
  Pick<KafkaConnectionOptions, "librdkafka">;

/** What the consumer's adapters give it: the real ones come from `createConsumerAdapters`, tests pass fakes. */
export interface ConsumerAdapters {
  /** Where documents are indexed (OpenSearch or Elasticsearch `_bulk`). Drained and closed by `stop`. */
  sink: BulkSink;
  /** Writes the dead-letter topic. Connected by `start`, closed by `stop`. */
  deadLetters: Pick<MessagePublisher, "connect" | "publish" | "close" | "nativeCallRunning">;
  /** Creates the dead-letter and announcement topics and lists the log topics. Connected by `start`, closed by `stop`. */
  admin: Pick<KafkaAdmin, "connect" | "createTopic" | "listTopics" | "close" | "nativeCallRunning">;
  /** Builds a group consumer: one per log pipeline, and one for the new-topic announcements. */
  createConsumer(options: GroupConsumerOptions): BatchConsumer;
  /** DataStream mode: makes sure the index template of a data stream exists (idempotent). */
  ensureDataStream?: (indexPrefix: string) => Promise<void>;
  /** Where the redaction rules come from and how they are applied; absent: nothing is redacted. */
  redaction?: { rules: RulesSource; redact(indexPrefix: string, json: string): string };
  /** The registry the app and the adapters' own observations (bulk timings, redaction) go to. Default: a new one. */
  metrics?: ConsumerMetrics;
  /** BARITO_PUSH_METRIC_URL: documents indexed per app_secret, pushed to BaritoMarket; started and stopped here. */
  pushMetrics?: Pick<PushMetrics, "add" | "start" | "stop">;
  /** Releases what the adapters hold besides the ports above (the OpenSearch clients); `stop` calls it last. */
  releaseClients?: () => Promise<void>;
}

export interface ConsumerAppDependencies extends ConsumerAdapters {
  config: ConsumerConfig;
  logger: Logger;
  /** The processing date (`BARITO_CONSUMER_INDEX_DATE=processing`, unparsable timestamps). Default: the system's. */
  clock?: () => Date;
  /** Documents of one partition waiting in the sink before that partition is paused (default: half the sink's buffer). */
  maxInFlightPerPartition?: number;
  /** How long a partition over its share may wait to drain before it is paused (default 5 s). */
  pausePartitionAfterMs?: number;
  /** How often finished offsets are committed (default 1 s). */
  commitIntervalMs?: number;
  /** TLS of the metrics and health port (BARITO_EXPORTER_TLS_*); absent: cleartext. */
  operatorTls?: TlsCertificates;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Topics written by the producer: `<prefix><app><suffix>`. */
export function logTopicPattern(prefix: string, suffix: string): RegExp {
  return new RegExp(`^${escapeRegex(prefix)}.*${escapeRegex(suffix)}$`);
}

/** Composes Kafka → decode → OpenSearch with its dead-letter topic, health and metrics, from the adapters given. */
export function createConsumerApp(deps: ConsumerAppDependencies): ConsumerApp {
  const { config, logger, sink, deadLetters, admin, redaction } = deps;
  const metrics = deps.metrics ?? createConsumerMetrics();
  const { opensearch, consumer: settings } = config;
  const rulesStatus = () => redaction?.rules.status() ?? { kind: "none" as const, loaded: true };
  const redact = redaction && redaction.rules.kind !== "none" ? redaction.redact : undefined;
  let rulesLoaded: Promise<void> | undefined;

  const excludedTopics = [settings.dlqTopic, config.kafka.newTopicEventTopic];
  const logTopics = logTopicPattern(config.kafka.topicPrefix, config.kafka.topicSuffix);

  function newPipeline(groupId: string, subscription: readonly (string | RegExp)[]): LogPipeline {
    return createLogPipeline({
      createConsumer: (listener) =>
        deps.createConsumer({
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
      dlq: deadLetters,
      dlqTopic: settings.dlqTopic,
      subscription,
      excludedTopics,
      indexMethod: opensearch.indexMethod,
      useProcessingDate: opensearch.indexDate === "processing",
      ensureDataStream: deps.ensureDataStream,
      metrics,
      logger: logger.child({ component: "pipeline", groupId }),
      // Half the sink's buffer: enough for one busy partition to keep every bulk slot filled (5,000 starved the
      // sink whenever fewer than four partitions had records left), while a partition whose documents keep failing
      // still leaves the other half to the rest.
      maxInFlightPerPartition: deps.maxInFlightPerPartition ?? Math.max(1, Math.floor(opensearch.maxBufferedDocs / 2)),
      pauseAfterMs: deps.pausePartitionAfterMs,
      commitIntervalMs: deps.commitIntervalMs,
      redact,
      now: deps.clock,
      ...(deps.pushMetrics ? { onIndexed: deps.pushMetrics.add } : {}),
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
      deps.createConsumer({
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

  const readiness = () => {
    const sinkHealth = sink.health();
    const running = consuming && [...pipelines.values()].every((pipeline) => pipeline.isRunning());
    const rules = rulesStatus();
    return {
      ready: running && sinkHealth.state === "ok" && rules.loaded,
      checks: {
        consuming: running,
        opensearch: sinkHealth.state,
        ...(rules.kind === "none" ? {} : { redactionRules: rules.loaded ? "loaded" : "loading" }),
      },
    };
  };
  const http = new Hono();
  const health = (path: HealthPath) => {
    const answer = healthAnswer(path, readiness);
    return new Response(answer.body, { status: answer.status, headers: { "content-type": answer.contentType } });
  };
  http.get("/healthz", () => health("/healthz"));
  http.get("/readyz", () => health("/readyz"));
  http.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
  const status = createConsumerStatus({
    registry: metrics.registry,
    sinkHealth: () => sink.health(),
    rules: rulesStatus,
    assignment: () => [...pipelines.values()].flatMap((pipeline) => pipeline.assignment()),
  });
  http.get("/status", (c) => statusResponse(status, c.req.raw) ?? c.notFound());
  http.get("/status.json", (c) => statusResponse(status, c.req.raw) ?? c.notFound());
  let server: Server | HttpsServer | undefined;
  let stopped: Promise<StopResult> | undefined;

  return {
    readiness,
    processed: () => [...pipelines.values()].reduce((sum, pipeline) => sum + pipeline.processed(), 0),
    async start() {
      // Nothing is consumed before the first rules arrive: indexing unredacted logs cannot be undone.
      rulesLoaded ??= (redaction?.rules.start() ?? Promise.resolve()).catch((err: unknown) => {
        rulesLoaded = undefined;
        throw err;
      });
      await rulesLoaded;
      // The dead-letter topic must exist before the first poison record; the publisher never auto-creates.
      await admin.connect();
      await admin.createTopic({ topic: settings.dlqTopic, partitions: -1, replicationFactor: -1 });
      // Subscribing to a missing announcement topic would only log errors until the first producer creates it.
      await admin.createTopic({ topic: config.kafka.newTopicEventTopic, partitions: -1, replicationFactor: -1 });
      await deadLetters.connect();
      await shared?.start();
      await discovery.start();
      consuming = true;
      deps.pushMetrics?.start();
    },
    listen(address) {
      warnIfCleartext(deps.logger, "metrics", address.host, deps.operatorTls);
      server = createHttpListener(
        requireBearerToken(getRequestListener(http.fetch), config.metrics.token),
        deps.operatorTls,
        "metrics",
      );
      status.start();
      const listening = server;
      return new Promise((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(address.port, address.host, () => resolve((listening.address() as AddressInfo).port));
      });
    },
    stop(timeoutMs) {
      stopped ??= (async () => {
        const deadline = Date.now() + timeoutMs;
        status.stop();
        redaction?.rules.stop();
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
        // The counts of what was indexed until now, within what is left of the budget.
        await deps.pushMetrics?.stop(Math.max(0, Math.min(5_000, deadline - Date.now())));
        const clientsClosed = await withDeadline(
          Promise.allSettled([
            deadLetters.close(),
            admin.close(Math.max(1_000, deadline - Date.now())),
            deps.releaseClients?.(),
          ]).then(() => true),
          Math.max(1_000, deadline - Date.now()),
        );
        // A request that outlived its promise (a topic listing with Kafka down) still runs on libuv's threadpool,
        // where an exit would wait for it.
        const idle = await waitUntil(
          () => !admin.nativeCallRunning() && !deadLetters.nativeCallRunning(),
          Math.max(1_000, deadline - Date.now()),
        );
        server?.close();
        server?.closeAllConnections();
        return { drained: results.drained, closed: results.closed && clientsClosed === true && idle };
      })();
      return stopped;
    },
  };
}
