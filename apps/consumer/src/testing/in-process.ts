// The composed consumer app in the test's own process, on the real adapters and the local stack.
import { noopLogger } from "@barito-flow/logger";
import { createConsumerAdapters } from "../adapters.js";
import { type ConsumerApp, type ConsumerAppDependencies, createConsumerApp } from "../app.js";
import { type ConsumerConfig, loadConsumerConfig } from "../config.js";
import { stackEndpoints } from "./stack.js";

/** `env` over what every in-process test shares: the stack, 100 ms flushes, no logs. */
export function stackEnv(env: Record<string, string>): Record<string, string> {
  return { ...stackEndpoints, BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "100", LOG_LEVEL: "silent", ...env };
}

export function stackConfig(env: Record<string, string>): ConsumerConfig {
  return loadConsumerConfig(stackEnv(env));
}

export function createStackConsumer(
  config: ConsumerConfig,
  options: Pick<ConsumerAppDependencies, "maxInFlightPerPartition"> = {},
): ConsumerApp {
  return createConsumerApp({ config, logger: noopLogger, ...createConsumerAdapters(config, noopLogger), ...options });
}

/**
 * Consumers named `<tag><name>`, each with topics of its own (`<tag><name>_*`, its new-topic events and dead
 * letters) in the group `<tag><name>-group`; `env` goes to all of them. `create` makes one (not started), `stop` ends them all, and `topics` are the
 * event and dead-letter topics they used, to delete with the test's own.
 */
export function consumerFleet(tag: string, env: Record<string, string> = {}) {
  const apps: ConsumerApp[] = [];
  const topics: string[] = [];
  return {
    topics,
    create(name: string, overrides: Record<string, string> = {}): ConsumerApp {
      const config = stackConfig({
        BARITO_KAFKA_TOPIC_PREFIX: `${tag}${name}_`,
        BARITO_KAFKA_GROUP_ID: `${tag}${name}-group`,
        BARITO_NEW_TOPIC_EVENT: `${tag}${name}_events`,
        BARITO_CONSUMER_DLQ_TOPIC: `${tag}${name}_dlq`,
        ...env,
        ...overrides,
      });
      const app = createStackConsumer(config);
      apps.push(app);
      topics.push(config.kafka.newTopicEventTopic, config.consumer.dlqTopic);
      return app;
    },
    async stop() {
      for (const app of apps) await app.stop(5_000).catch(() => undefined);
    },
  };
}
