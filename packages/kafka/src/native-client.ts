import type { KafkaJS as KafkaJSNamespace } from "@confluentinc/kafka-javascript";
import type { Logger } from "@barito-flow/logger";
import { type ConnectionConfig, validateBrokers } from "./connection-config.js";
import { type ConnectionDiagnostics, createLibrdkafkaLogger } from "./librdkafka-logger.js";

export type KafkaJSModule = typeof KafkaJSNamespace;

let loading: Promise<KafkaJSModule> | undefined;

/**
 * Loads librdkafka on first use only, so code that merely imports this package's types or pure helpers (unit tests,
 * config validation, `--check-config`) never loads the native addon.
 */
export function loadKafkaJS(): Promise<KafkaJSModule> {
  loading ??= import("@confluentinc/kafka-javascript").then((module) => {
    // The package is CommonJS: depending on the loader the namespace sits on the module or on its default export.
    const candidate =
      (module as { KafkaJS?: KafkaJSModule }).KafkaJS ??
      (module as { default?: { KafkaJS?: KafkaJSModule } }).default?.KafkaJS;
    if (candidate === undefined) throw new Error("@confluentinc/kafka-javascript does not export KafkaJS");
    return candidate;
  });
  // A failed load (missing addon) is retried by the next caller instead of being cached forever.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

export type NativeKafka = InstanceType<KafkaJSModule["Kafka"]>;

/**
 * Makes the `Kafka` factories of one adapter (publisher, consumer, admin): each carries brokers, client id and our
 * logger adapter (secrets scrubbed), and asks `connection.resolveBrokers` for the brokers first when there is one
 * (service discovery). The logger adapter is shared by every client made, because a retried connection is a new
 * client each time: refused credentials then stay logged once per interval instead of once per attempt.
 */
export function nativeKafkaFactory(
  connection: ConnectionConfig,
  logger: Logger,
  diagnostics?: ConnectionDiagnostics,
): (kafkaJS: KafkaJSModule) => Promise<NativeKafka> {
  const clientLogger = createLibrdkafkaLogger(logger, connection.secrets, undefined, diagnostics);
  return async (kafkaJS) => {
    if (connection.resolveBrokers) {
      try {
        const resolved = await connection.resolveBrokers();
        if (resolved !== undefined && resolved.length > 0) connection.kafkaJS.brokers = validateBrokers(resolved);
      } catch (err) {
        logger.warn("resolving the Kafka brokers failed; keeping the last ones", {
          err,
          brokers: connection.kafkaJS.brokers,
        });
      }
    }
    return new kafkaJS.Kafka({
      kafkaJS: { brokers: connection.kafkaJS.brokers, clientId: connection.kafkaJS.clientId, logger: clientLogger },
    });
  };
}
