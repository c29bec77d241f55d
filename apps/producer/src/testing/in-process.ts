// The producer app in the test's own process on the real Kafka, on loopback ports the kernel picks: the set-up the
// in-process integration tests share. Each test states what it varies (env, Kafka timeouts, limiter, TLS); app
// authentication follows BARITO_PRODUCER_AUTH in the env, as in main.ts.
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { createAuthenticator } from "../auth/create-authenticator.js";
import { createProducerApp, type ProducerApp, type ProducerAppDeps, withTopicProvisioner } from "../app.js";
import { loadProducerConfig, type ProducerConfig } from "../config.js";
import { createProducerMetrics } from "../metrics.js";

export const kafkaBrokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";

export interface InProcessOptions {
  /** The producer's environment; BARITO_KAFKA_BROKERS defaults to the local stack's. */
  env: Record<string, string>;
  clientId: string;
  deliveryTimeoutMs: number;
  /** Absent: the admin's own defaults. */
  adminTimeouts?: { requestTimeoutMs: number; pingTimeoutMs: number };
  /** Absent: a LOCAL limiter with the configured window (BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL). */
  rateLimiter?: ProducerAppDeps["rateLimiter"] & { close(): Promise<unknown> };
  tls?: ProducerAppDeps["tls"];
  /**
   * false: Kafka is meant to be unreachable, so neither the connects nor the first probe are waited for (a failed
   * connect is then the point, not an error). Default true: the connects must succeed.
   */
  awaitKafka?: boolean;
}

export interface InProcessProducer {
  app: ProducerApp;
  config: ProducerConfig;
  admin: ReturnType<typeof createKafkaAdmin>;
  ports: { rest: number; grpc: number; metrics: number };
  /** The cleartext URL of each port (a TLS test builds its own from `ports`). */
  urls: { rest: string; grpc: string; metrics: string };
  /** Closes the app (2 s to drain), then its authenticator, Kafka clients and limiter. */
  close(): Promise<void>;
}

export async function startInProcessProducer(options: InProcessOptions): Promise<InProcessProducer> {
  const config = loadProducerConfig({ BARITO_KAFKA_BROKERS: kafkaBrokers, ...options.env });
  const kafka = { brokers: [...config.kafka.brokers], clientId: options.clientId };
  const awaitKafka = options.awaitKafka ?? true;
  // Against an unreachable cluster each connection attempt lasts connectTimeoutMs, also after the test closed the
  // publisher: a short one ends the last attempt before the suite does.
  const connectTimeoutMs = awaitKafka ? undefined : 1_000;
  const publisher = createKafkaPublisher({ ...kafka, deliveryTimeoutMs: options.deliveryTimeoutMs, connectTimeoutMs });
  const admin = createKafkaAdmin({ ...kafka, ...options.adminTimeouts });
  const connected = Promise.all([publisher.connect(), admin.connect()]);
  if (awaitKafka) await connected;
  else connected.catch(() => undefined);
  const rateLimiter = options.rateLimiter ?? createLocalRateLimiter({ intervalMs: config.rateLimit.intervalMs });
  const metrics = createProducerMetrics(config.kafka.topicSuffix);
  const auth = createAuthenticator(config.producer.auth, noopLogger, metrics.authFailed);
  const app = createProducerApp({
    ...withTopicProvisioner({ config, logger: noopLogger, publisher, admin, rateLimiter, metrics }),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(auth ? { authenticator: auth.authenticator } : {}),
  });
  const loopback = { host: "127.0.0.1", port: 0 };
  const bound = await app.listen({ rest: loopback, grpc: loopback, metrics: loopback });
  const ports = { rest: bound.rest ?? 0, grpc: bound.grpc, metrics: bound.metrics ?? 0 };
  // Readiness follows the Kafka probe; wait for the first one.
  for (let i = 0; i < 50 && awaitKafka && !app.readiness().ready; i++) await new Promise((r) => setTimeout(r, 100));
  return {
    app,
    config,
    admin,
    ports,
    urls: {
      rest: `http://127.0.0.1:${ports.rest}`,
      grpc: `http://127.0.0.1:${ports.grpc}`,
      metrics: `http://127.0.0.1:${ports.metrics}`,
    },
    async close() {
      await app.close(2_000);
      auth?.stop();
      await Promise.allSettled([publisher.close(), admin.close(), rateLimiter.close()]);
    },
  };
}
