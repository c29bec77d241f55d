#!/usr/bin/env node
// The consumer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [consumer|c] [--check-config]
import { setTimeout as sleep } from "node:timers/promises";
import { getHeapStatistics } from "node:v8";
import { ConfigError, containerMemoryLimit, redactConfig } from "@barito-flow/config";
import { discoverServices } from "@barito-flow/consul-discovery";
import { installShutdown } from "@barito-flow/lifecycle";
import { createLogger, logProcessWarnings } from "@barito-flow/logger/winston";
import { createConsumerAdapters } from "./adapters.js";
import { createConsumerApp } from "./app.js";
import { type ConsumerConfig, loadConsumerConfig, sinkBufferShortfall } from "./config.js";
import { memoryBudgetProblem } from "./memory-budget.js";
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
const memoryBudget = config.consumer.memoryBudgetBytes ?? containerMemoryLimit();
const overBudget = memoryBudgetProblem(config, getHeapStatistics().heap_size_limit, memoryBudget);
if (overBudget) {
  console.error(`BARITO_CONSUMER_MEMORY_BUDGET: ${overBudget}`);
  process.exit(2);
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

// BARITO_CONSUL_URL with empty BARITO_KAFKA_BROKERS / BARITO_ELASTICSEARCH_URLS: their first lookup, or a clear exit.
const { consulUrl, kafkaService } = config.discovery;
const elasticsearchService = config.opensearch.consulService;
let services = {};
if (consulUrl !== undefined && (kafkaService !== undefined || elasticsearchService !== undefined)) {
  try {
    services = await discoverServices({ consulUrl, kafka: kafkaService, elasticsearch: elasticsearchService, logger });
  } catch (err) {
    logger.error("service discovery through Consul failed", { err });
    await logger.close();
    process.exit(1);
  }
}
const app = createConsumerApp({ config, logger, ...createConsumerAdapters(config, logger, services) });
await app.listen(config.metrics.address);

const shutdown = installShutdown({
  stop: (timeoutMs) => app.stop(timeoutMs),
  timeoutMs: config.shutdownTimeoutMs,
  logger,
  flush: () => logger.close(),
});
process.on("unhandledRejection", (err) => logger.error("unhandled rejection", { err }));
// Node's own warnings as log entries (one JSON line each in JSON mode) instead of multi-line stderr text.
logProcessWarnings(logger);

// BARITO_KAFKA_MAX_RETRY (0 = forever) and BARITO_KAFKA_RETRY_INTERVAL bound the startup attempts.
for (let attempt = 1; !shutdown.stopping; attempt++) {
  try {
    await app.start();
    break;
  } catch (err) {
    const { connectMaxRetry, connectRetryIntervalMs } = config.kafka;
    if (connectMaxRetry > 0 && attempt >= connectMaxRetry) {
      logger.error("giving up connecting to Kafka (BARITO_KAFKA_MAX_RETRY reached)", { attempt, err });
      await shutdown.begin("kafka-unreachable", 1);
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
