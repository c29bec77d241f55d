// /readyz with Kafka refusing the producer's credentials: not ready, and the reason named, next to the broker-count
// cap that the same probe keeps current.
import { noopLogger } from "@barito-flow/logger";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { afterEach, describe, expect, it } from "@jest/globals";
import { loadProducerConfig } from "./config.js";
import { createProducerApp, type ProducerApp } from "./app.js";
import { createProducerMetrics } from "./metrics.js";

const apps: ProducerApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close(100);
});

function appWith(kafka: { reachable: boolean; problem?: string; brokers?: number }) {
  const rateLimiter = createLocalRateLimiter({ intervalMs: 10_000 });
  const app = createProducerApp({
    config: loadProducerConfig({ BARITO_KAFKA_BROKERS: "127.0.0.1:1" }),
    logger: noopLogger,
    publisher: {
      publish: async () => undefined,
      isConnected: () => kafka.reachable,
      connectionProblem: () => (kafka.problem === undefined ? undefined : { code: kafka.problem }),
      brokerCount: async () => kafka.brokers ?? 1,
    },
    admin: { ping: async () => kafka.reachable },
    topics: { ensure: async () => undefined, pendingAnnouncements: () => 0, close: async () => undefined },
    rateLimiter,
    metrics: createProducerMetrics("_logs"),
  });
  apps.push(app);
  return app;
}

const probed = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("producer readiness", () => {
  it("names AUTHENTICATION_FAILED while Kafka refuses the credentials", async () => {
    const app = appWith({ reachable: false, problem: "AUTHENTICATION_FAILED" });
    await probed();
    expect(app.readiness()).toEqual({
      ready: false,
      checks: { kafka: false, kafkaError: "AUTHENTICATION_FAILED", accepting: true },
    });
  });

  it("has no error entry when Kafka is reachable", async () => {
    const app = appWith({ reachable: true, problem: "AUTHENTICATION_FAILED" });
    await probed();
    expect(app.readiness()).toEqual({ ready: true, checks: { kafka: true, accepting: true } });
  });
});
