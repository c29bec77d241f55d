#!/usr/bin/env node
// The producer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [producer|p] [--check-config] [--dry-run]
import cluster from "node:cluster";
import { ConfigError, redactConfig } from "@barito-flow/config";
import { discoverServices } from "@barito-flow/consul-discovery";
import { connectionFromSettings, createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { installShutdown, waitUntil, withDeadline } from "@barito-flow/lifecycle";
import { createLogger, logProcessWarnings } from "@barito-flow/logger/winston";
import { createRateLimiter, createRemoteRateLimiter, type RateLimitChannel } from "@barito-flow/rate-limit";
import { createTlsCertificates, type TlsCertificates } from "@barito-flow/tls";
import { createProducerApp, withTopicProvisioner } from "./app.js";
import { createAuthenticator } from "./auth/create-authenticator.js";
import { SecretTableError } from "./auth/secret-table.js";
import { createClusterPrimary, READINESS_MESSAGE } from "./cluster-primary.js";
import { loadProducerConfig, type ProducerConfig } from "./config.js";
import { connectKafkaWithRetry } from "./kafka-startup.js";
import { createDryRunAdmin, createDryRunPublisher, dryRunHeaders } from "./dry-run.js";
import { createProducerMetrics, type ProducerMetrics, serveMetricsToPrimary } from "./metrics.js";
import { createCountedPushMetrics } from "@barito-flow/push-metrics/prometheus";

const [command = "producer", ...flags] = process.argv.slice(2);
if (command !== "producer" && command !== "p") {
  console.error(`Command not found: '${command}'. Usage: barito-flow producer|p [--check-config] [--dry-run]`);
  process.exit(2);
}

let config: ProducerConfig;
try {
  config = loadProducerConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({
  level: config.log.level,
  format: config.log.format,
  base: { service: "barito-producer", ...(cluster.worker ? { worker: cluster.worker.id } : {}) },
});
if (flags.includes("--check-config")) {
  logger.info("configuration is valid", { config: redactConfig(config) });
  await logger.close();
  process.exit(0);
}
const clustered = config.producer.workers > 1;
// Workers are forked with the same arguments, so each of them runs dry too.
const dryRun = flags.includes("--dry-run");
if (!cluster.isWorker) {
  logger.info("starting producer", { config: redactConfig(config) });
  if (dryRun) logger.warn("dry run: requests are validated and rate-limited, nothing is written to Kafka");
  for (const name of config.inertVariables)
    logger.warn("variable accepted for compatibility but has no effect", { variable: name });
}
process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err }));
// Node's own warnings as log entries (one JSON line each in JSON mode) instead of multi-line stderr text.
logProcessWarnings(logger);

// Certificates are re-read every 10 s and on SIGHUP (a primary passes SIGHUP on to its workers). SIGHUP is handled only
// with TLS configured: without, it keeps its default action (the process ends), as before.
function certificates(tls: ProducerConfig["exporterTls"], name: string): TlsCertificates | undefined {
  if (!tls) return undefined;
  const certs = createTlsCertificates({
    paths: { certPath: tls.certPath, keyPath: tls.keyPath, clientCaPath: tls.clientCaPath },
    minVersion: tls.minVersion,
    logger: logger.child({ component: "tls", listener: name }),
  });
  process.on("SIGHUP", () => certs.reload());
  return certs;
}
const operatorTls = cluster.isWorker ? undefined : certificates(config.exporterTls, "metrics");
const serviceTls = clustered && cluster.isPrimary ? undefined : certificates(config.producer.tls, "rest+grpc");
// Only workers with TLS handle SIGHUP; to the others it would be the end.
if (clustered && cluster.isPrimary && config.producer.tls) {
  process.on("SIGHUP", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGHUP");
  });
}

if (clustered && cluster.isPrimary) await runPrimary(config);
else await runServer(config);

/** BARITO_PRODUCER_WORKERS > 1: fork the workers, keep the shared limits, serve the operational endpoints. */
async function runPrimary(config: ProducerConfig): Promise<void> {
  const primary = createClusterPrimary({
    workers: config.producer.workers,
    logger: logger.child({ role: "primary" }),
    fork: () => cluster.fork(),
    ...(operatorTls ? { tls: operatorTls } : {}),
    operatorToken: config.metrics.token,
    rateLimitIntervalMs: config.rateLimit.intervalMs,
    ...(config.rateLimit.backend === "local"
      ? { sharedRateLimiter: createRateLimiter({ ...config.rateLimit, redis: { ...config.rateLimit.redis } }) }
      : {}),
  });
  const shutdown = installShutdown({
    // The primary forwards the signal and waits for its workers, which keep their own deadline.
    stop: async (timeoutMs) => {
      const code = await primary.stop("SIGTERM", timeoutMs + 5_000);
      return { drained: code === 0, closed: true };
    },
    timeoutMs: config.shutdownTimeoutMs,
    watchdogGraceMs: 10_000,
    logger,
    flush: () => logger.close(),
  });
  void primary.failed.then((code) => shutdown.begin("worker-failed", code));
  await primary.start(config.metrics.address);
}

/** The app-secret check of BARITO_PRODUCER_AUTH; a secrets file that cannot be read at start is a configuration error. */
function createAuthenticatorOrExit(config: ProducerConfig, metrics: ProducerMetrics) {
  try {
    return createAuthenticator(config.producer.auth, logger.child({ component: "auth" }), (reason) =>
      metrics.authFailed(reason),
    );
  } catch (err) {
    if (!(err instanceof SecretTableError)) throw err;
    console.error(`Invalid configuration (1 problem):\n  - BARITO_PRODUCER_AUTH_SECRETS_FILE: ${err.message}`);
    process.exit(2);
  }
}

/** A single producer process, or one cluster worker (then without the metrics port, and LOCAL limits shared). */
async function runServer(config: ProducerConfig): Promise<void> {
  const metrics = createProducerMetrics(config.kafka.topicSuffix);
  const services = await discover(config);
  const kafka = {
    ...config.kafka,
    brokers: services.kafka?.current() ?? config.kafka.brokers,
    ...(services.kafka ? { resolveBrokers: services.kafka.refresh } : {}),
  };
  const redisUrl = services.redis?.current() ?? config.rateLimit.redis.url;
  // A dry run writes nothing, so it has nothing to report to BaritoMarket either.
  const push = dryRun
    ? undefined
    : createCountedPushMetrics("barito_producer", config.metrics, metrics.registry, logger);
  const publisher = dryRun
    ? createDryRunPublisher()
    : createKafkaPublisher({
        ...connectionFromSettings(kafka, logger.child({ component: "kafka" })),
        resolveBrokers: kafka.resolveBrokers,
        maxMessageBytes: config.producer.maxMessageBytes,
        deliveryTimeoutMs: config.producer.requestTimeoutMs,
        // Sized to the in-flight cap (config.ts: kafkaQueue), so librdkafka never refuses a request's records.
        maxQueuedKbytes: config.producer.kafkaQueue.maxKbytes,
        maxQueuedRecords: config.producer.kafkaQueue.maxMessages,
      });
  const admin = dryRun
    ? createDryRunAdmin()
    : createKafkaAdmin({
        ...connectionFromSettings(kafka, logger.child({ component: "kafka-admin" })),
        resolveBrokers: kafka.resolveBrokers,
      });
  const primaryChannel: RateLimitChannel = {
    send: (message) => {
      process.send?.(message);
    },
    onMessage: (listener) => {
      process.on("message", listener);
      return () => process.off("message", listener);
    },
  };
  const rateLimiter =
    cluster.isWorker && config.rateLimit.backend === "local"
      ? createRemoteRateLimiter(primaryChannel)
      : createRateLimiter(
          { ...config.rateLimit, redis: { ...config.rateLimit.redis, url: redisUrl } },
          {
            logger: logger.child({ component: "rate-limit" }),
            ...(services.redis ? { resolveRedisAddress: services.redis.refresh } : {}),
            onFallbackChange: ({ usingFallback }) => {
              if (usingFallback) metrics.rateLimiterFallback();
            },
          },
        );
  const tls = {
    ...(serviceTls ? { service: serviceTls } : {}),
    ...(operatorTls ? { operator: operatorTls } : {}),
    warnCleartext: !cluster.isWorker || cluster.worker?.id === 1,
  };
  const auth = createAuthenticatorOrExit(config, metrics);
  const app = createProducerApp({
    ...withTopicProvisioner({
      config,
      logger,
      publisher,
      admin,
      rateLimiter,
      metrics,
      tls,
      ...(auth ? { authenticator: auth.authenticator } : {}),
    }),
    ...(dryRun ? { responseHeaders: dryRunHeaders } : {}),
    ...(push ? { countAccepted: push.add } : {}),
  });

  const { producer, metrics: metricsSettings } = config;
  await app.listen({
    rest: producer.restAddress,
    grpc: producer.grpcAddress,
    metrics: cluster.isWorker ? undefined : metricsSettings.address,
  });
  // Each worker pushes its own counts: the market adds them up.
  push?.start();
  if (cluster.isWorker) {
    serveMetricsToPrimary(metrics.registry);
    // The primary answers /readyz for the cluster: tell it whenever this worker's readiness changes.
    let reported: boolean | undefined;
    const report = () => {
      const ready = app.readiness().ready;
      if (ready !== reported && process.connected) {
        reported = ready;
        process.send?.({ type: READINESS_MESSAGE, ready });
      }
    };
    report();
    setInterval(report, 500).unref();
    // Without its primary a worker has no shared limits and no one to report to.
    process.on("disconnect", () => void shutdown.begin("primary-gone", 1));
  }

  // Listening before Kafka answers lets probes and clients see a clear 503 instead of a closed port.
  async function connectKafka(): Promise<void> {
    const connected = await connectKafkaWithRetry({
      connect: () => Promise.all([publisher.connect(), admin.connect()]),
      maxRetry: config.kafka.connectMaxRetry,
      retryIntervalMs: config.kafka.connectRetryIntervalMs,
      logger,
      onAttemptFailed: () => metrics.kafkaClientFailed(),
      signal: startupAbort.signal,
    });
    if (!connected && !startupAbort.signal.aborted) await shutdown.begin("kafka-unreachable", 1);
  }
  const startupAbort = new AbortController();

  const shutdown = installShutdown({
    stop: async (timeoutMs) => {
      startupAbort.abort();
      auth?.stop();
      const started = Date.now();
      const { drained } = await app.close(timeoutMs);
      const left = Math.max(0, timeoutMs - (Date.now() - started));
      const closed = await withDeadline(
        Promise.allSettled([
          publisher.close(Math.min(left, 10_000)),
          admin.close(left),
          rateLimiter.close?.(),
          push?.stop(Math.min(left, 5_000)),
        ]).then(() => true),
        left + 1_000,
      );
      // A flush or a metadata request that outlived its promise still runs on libuv's threadpool, where an exit
      // would wait for it (a probe or topic lookup can take its full request timeout with Kafka down).
      const idle = await waitUntil(
        () => !publisher.nativeCallRunning() && !admin.nativeCallRunning(),
        Math.max(0, timeoutMs - (Date.now() - started)) + 1_000,
      );
      return { drained, closed: closed === true && idle };
    },
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    flush: () => logger.close(),
    // A worker gets Ctrl-C from the terminal and again from its primary, which enforces the deadline itself.
    secondSignalEnds: !cluster.isWorker,
  });

  void connectKafka();
}

/** BARITO_CONSUL_URL with an empty BARITO_KAFKA_BROKERS / BARITO_REDIS_URL: their first lookup, or a clear exit. */
async function discover(config: ProducerConfig) {
  const { consulUrl, kafkaService } = config.discovery;
  const redisService = config.rateLimit.redis.consulService;
  if (consulUrl === undefined || (kafkaService === undefined && redisService === undefined)) return {};
  try {
    return await discoverServices({ consulUrl, kafka: kafkaService, redis: redisService, logger });
  } catch (err) {
    logger.error("service discovery through Consul failed", { err });
    await logger.close();
    process.exit(1);
  }
}
