#!/usr/bin/env node
// The consumer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [consumer|c] [--check-config]
import { setTimeout as sleep } from "node:timers/promises";
import {
  ConfigError,
  type ConsumerConfig,
  loadConsumerConfig,
  redactConfig,
  sinkBufferShortfall,
} from "@barito-flow/config";
import { createLogger, logProcessWarnings } from "@barito-flow/logger";
import { createConsumerApp } from "./app.js";
import { RulesFormatError, validateInlineRules } from "./redaction/index.js";

const [command = "consumer", ...flags] = process.argv.slice(2);
if (command !== "consumer" && command !== "c") {
  console.error(`Command not found: '${command}'. Usage: barito-flow consumer|c [--check-config]`);
  process.exit(2);
}

let config: ConsumerConfig;
try {
  config = loadConsumerConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
try {
  validateInlineRules(config.redaction);
} catch (err) {
  if (err instanceof RulesFormatError) {
    console.error(`REDACTOR_RULES_MAP: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({
  level: config.log.level,
  format: config.log.format,
  base: { service: "barito-consumer" },
});
if (flags.includes("--check-config")) {
  logger.info("configuration is valid", { config: redactConfig(config) });
  await logger.close();
  process.exit(0);
}
logger.info("starting consumer", { config: redactConfig(config) });
for (const name of config.inertVariables)
  logger.warn("variable accepted for compatibility but has no effect", { variable: name });
const bufferShortfall = sinkBufferShortfall(config.opensearch);
if (bufferShortfall) logger.warn(bufferShortfall);

const app = createConsumerApp(config, logger);
await app.listen(config.metrics.address);

let stopping = false;
async function shutdown(reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down", { reason, timeoutMs: config.shutdownTimeoutMs });
  setTimeout(() => {
    logger.error("shutdown timed out, exiting");
    process.exit(1);
  }, config.shutdownTimeoutMs + 5_000).unref();
  try {
    await app.stop(config.shutdownTimeoutMs);
  } catch (err) {
    logger.error("error during shutdown", { err });
    exitCode ||= 1;
  }
  await logger.close();
  process.exit(exitCode);
}
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    void shutdown(signal, 0);
  });
}
process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err }));
// Node's own warnings as log entries (one JSON line each in JSON mode) instead of multi-line stderr text.
logProcessWarnings(logger);

// BARITO_KAFKA_MAX_RETRY (0 = forever) and BARITO_KAFKA_RETRY_INTERVAL bound the startup attempts.
for (let attempt = 1; !stopping; attempt++) {
  try {
    await app.start();
    break;
  } catch (err) {
    const { connectMaxRetry, connectRetryIntervalMs } = config.kafka;
    if (connectMaxRetry > 0 && attempt >= connectMaxRetry) {
      logger.error("giving up connecting to Kafka (BARITO_KAFKA_MAX_RETRY reached)", { attempt, err });
      await shutdown("kafka-unreachable", 1);
    }
    logger.warn("starting the consumer failed, retrying", { attempt, retryInMs: connectRetryIntervalMs, err });
    await sleep(connectRetryIntervalMs);
  }
}

if (config.consumer.printTps) {
  let last = 0;
  setInterval(() => {
    const now = app.processed();
    console.log(`PROCESSED: ${now - last}`);
    last = now;
  }, 1000).unref();
}
