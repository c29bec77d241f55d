#!/usr/bin/env node
// The producer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [producer|p] [--check-config]
import cluster from "node:cluster";
import { ConfigError, loadProducerConfig, type ProducerConfig, redactConfig } from "@barito-flow/config";
import { connectionFromSettings, createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { createLogger, logProcessWarnings } from "@barito-flow/logger";
import { createRateLimiter, createRemoteRateLimiter, type RateLimitChannel } from "@barito-flow/rate-limit";
import { createProducerApp } from "./app.js";
import { createClusterPrimary, READINESS_MESSAGE } from "./cluster-primary.js";
import { connectKafkaWithRetry } from "./kafka-startup.js";
import { createProducerMetrics, serveMetricsToPrimary } from "./metrics.js";

const [command = "producer", ...flags] = process.argv.slice(2);
if (command !== "producer" && command !== "p") {
  console.error(`Command not found: '${command}'. Usage: barito-flow producer|p [--check-config]`);
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
if (!cluster.isWorker) {
  logger.info("starting producer", { config: redactConfig(config) });
  for (const name of config.inertVariables)
    logger.warn("variable accepted for compatibility but has no effect", { variable: name });
}
process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err }));
// Node's own warnings as log entries (one JSON line each in JSON mode) instead of multi-line stderr text.
logProcessWarnings(logger);

if (clustered && cluster.isPrimary) await runPrimary(config);
else await runServer(config);

/** BARITO_PRODUCER_WORKERS > 1: fork the workers, keep the shared limits, serve the operational endpoints. */
async function runPrimary(config: ProducerConfig): Promise<void> {
  const primary = createClusterPrimary({
    workers: config.producer.workers,
    logger: logger.child({ role: "primary" }),
    fork: () => cluster.fork(),
    ...(config.rateLimit.backend === "local"
      ? { sharedRateLimiter: createRateLimiter({ ...config.rateLimit, redis: { ...config.rateLimit.redis } }) }
      : {}),
  });
  let stopping = false;
  const stop = async (signal: NodeJS.Signals, reason: string, failure?: number) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { reason, timeoutMs: config.shutdownTimeoutMs });
    const code = await primary.stop(signal, config.shutdownTimeoutMs + 5_000);
    await logger.close();
    process.exit(failure ?? code);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1); // a second signal forces the exit
      void stop(signal, signal);
    });
  }
  void primary.failed.then((code) => stop("SIGTERM", "worker-failed", code));
  await primary.start(config.metrics.address);
}

/** A single producer process, or one cluster worker (then without the metrics port, and LOCAL limits shared). */
async function runServer(config: ProducerConfig): Promise<void> {
  const metrics = createProducerMetrics(config.kafka.topicSuffix);
  const publisher = createKafkaPublisher({
    ...connectionFromSettings(config.kafka, logger.child({ component: "kafka" })),
    maxMessageBytes: config.producer.maxMessageBytes,
    deliveryTimeoutMs: config.producer.requestTimeoutMs,
  });
  const admin = createKafkaAdmin(connectionFromSettings(config.kafka, logger.child({ component: "kafka-admin" })));
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
          { ...config.rateLimit, redis: { ...config.rateLimit.redis } },
          {
            logger: logger.child({ component: "rate-limit" }),
            onFallbackChange: ({ usingFallback }) => {
              if (usingFallback) metrics.rateLimiterFallback();
            },
          },
        );
  const app = createProducerApp({ config, logger, publisher, admin, rateLimiter, metrics });

  const { producer, metrics: metricsSettings } = config;
  await app.listen({
    rest: producer.restAddress,
    grpc: producer.grpcAddress,
    metrics: cluster.isWorker ? undefined : metricsSettings.address,
  });
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
    process.on("disconnect", () => void shutdown("primary-gone", 1));
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
    if (!connected && !startupAbort.signal.aborted) await shutdown("kafka-unreachable", 1);
  }
  const startupAbort = new AbortController();

  let stopping = false;
  async function shutdown(reason: string, exitCode: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    startupAbort.abort();
    logger.info("shutting down", { reason, timeoutMs: config.shutdownTimeoutMs });
    const hardStop = setTimeout(() => {
      logger.error("shutdown timed out, exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    hardStop.unref();
    try {
      await app.close(config.shutdownTimeoutMs);
      await Promise.allSettled([publisher.close(), admin.close(), rateLimiter.close?.()]);
    } catch (err) {
      logger.error("error during shutdown", { err });
      exitCode = exitCode || 1;
    }
    await logger.close();
    process.exit(exitCode);
  }

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      // A second signal forces the exit; a worker gets Ctrl-C from the terminal and again from its primary, which
      // enforces the deadline itself.
      if (stopping && !cluster.isWorker) process.exit(1);
      void shutdown(signal, 0);
    });
  }

  void connectKafka();
}
