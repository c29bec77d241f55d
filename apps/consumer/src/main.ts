#!/usr/bin/env node
// The consumer process: the only place that reads the environment, opens ports and handles signals.
// Usage: node dist/main.js [consumer|c] [--check-config] [--dry-run [--from earliest|latest]]
//        node dist/main.js dlq stats|show|replay [options]   (dlq/options.ts: dlqUsage)
import { setTimeout as sleep } from "node:timers/promises";
import { getHeapStatistics } from "node:v8";
import { ConfigError, containerMemoryLimit, redactConfig } from "@barito-flow/config";
import { discoverServices } from "@barito-flow/consul-discovery";
import { installShutdown } from "@barito-flow/lifecycle";
import { createLogger, logProcessWarnings } from "@barito-flow/logger/winston";
import { createTlsCertificates } from "@barito-flow/tls";
import { createConsumerAdapters } from "./adapters.js";
import { createConsumerApp } from "./app.js";
import { type ConsumerConfig, loadConsumerConfig, sinkBufferShortfall } from "./config.js";
import { startDlqCommand } from "./dlq/dlq-command.js";
import { type DlqOptions, dlqUsage, parseDlqArgs, UsageError } from "./dlq/options.js";
import { type DryRunFlags, dryRunAdapters, parseDryRunFlags } from "./dry-run.js";
import { memoryBudgetProblem } from "./memory-budget.js";
import { RulesFormatError, validateInlineRules } from "./redaction/index.js";

const [command = "consumer", ...flags] = process.argv.slice(2);
if (command !== "consumer" && command !== "c" && command !== "dlq") {
  console.error(
    `Command not found: '${command}'. Usage: barito-flow consumer|c [--check-config] [--dry-run [--from earliest|latest]] | dlq stats|show|replay`,
  );
  process.exit(2);
}
let dlqOptions: DlqOptions | undefined;
let consumerFlags: DryRunFlags = { dryRun: false, from: "earliest" };
try {
  if (command === "dlq") dlqOptions = parseDlqArgs(flags);
  else consumerFlags = parseDryRunFlags(flags);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(command === "dlq" ? `${err.message}\n${dlqUsage}` : err.message);
    process.exit(2);
  }
  throw err;
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
if (dlqOptions) {
  // Results on stdout, logs and progress on stderr.
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    base: { service: "barito-dlq" },
    stream: process.stderr,
  });
  const running = startDlqCommand(dlqOptions, {
    config,
    logger,
    adapters: createConsumerAdapters(config, logger),
    out: (text) => process.stdout.write(`${text}\n`),
  });
  // A first signal ends after the batch at hand (committed), a second one at once.
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      running.stop();
      process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  const code = await running.done;
  await logger.close();
  process.exit(code);
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
  // A dry run prints its documents on stdout.
  ...(consumerFlags.dryRun ? { stream: process.stderr } : {}),
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

// Re-read every 10 s and on SIGHUP, which is handled only with TLS configured (otherwise it ends the process, as before).
const tls = config.exporterTls;
const operatorTls = tls
  ? createTlsCertificates({
      paths: { certPath: tls.certPath, keyPath: tls.keyPath },
      minVersion: tls.minVersion,
      logger: logger.child({ component: "tls", listener: "metrics" }),
    })
  : undefined;
if (operatorTls) process.on("SIGHUP", () => operatorTls.reload());
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
const adapters = createConsumerAdapters(config, logger, services);
const app = createConsumerApp({
  config,
  logger,
  ...(consumerFlags.dryRun
    ? dryRunAdapters(adapters, { from: consumerFlags.from, print: (line) => process.stdout.write(`${line}\n`) })
    : adapters),
  ...(operatorTls ? { operatorTls } : {}),
});
if (consumerFlags.dryRun)
  logger.warn("dry run: documents are printed, nothing is indexed or committed", { from: consumerFlags.from });
// A dry run beside the real consumer must not take its metrics port.
else await app.listen(config.metrics.address);

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
    // A dry run's stdout is its documents.
    (consumerFlags.dryRun ? console.error : console.log)(`PROCESSED: ${now - last}`);
    last = now;
  }, 1000).unref();
}
