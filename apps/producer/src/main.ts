#!/usr/bin/env node
// The producer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [producer|p] [--check-config]
import { ConfigError, loadProducerConfig, type ProducerConfig, redactConfig } from "@barito-flow/config";
import { connectionFromSettings, createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { createLogger } from "@barito-flow/logger";
import { createRateLimiter } from "@barito-flow/rate-limit";
import { createProducerApp } from "./app.js";
import { connectKafkaWithRetry } from "./kafka-startup.js";
import { createProducerMetrics } from "./metrics.js";

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
  base: { service: "barito-producer" },
});
if (flags.includes("--check-config")) {
  logger.info("configuration is valid", { config: redactConfig(config) });
  await logger.close();
  process.exit(0);
}
logger.info("starting producer", { config: redactConfig(config) });
for (const name of config.inertVariables)
  logger.warn("variable accepted for compatibility but has no effect", { variable: name });

const metrics = createProducerMetrics(config.kafka.topicSuffix);
const publisher = createKafkaPublisher({
  ...connectionFromSettings(config.kafka, logger.child({ component: "kafka" })),
  maxMessageBytes: config.producer.maxMessageBytes,
  deliveryTimeoutMs: config.producer.requestTimeoutMs,
});
const admin = createKafkaAdmin(connectionFromSettings(config.kafka, logger.child({ component: "kafka-admin" })));
const rateLimiter = createRateLimiter(
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
  metrics: metricsSettings.address,
});

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
    if (stopping) process.exit(1); // a second signal forces the exit
    void shutdown(signal, 0);
  });
}
process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err }));

void connectKafka();
