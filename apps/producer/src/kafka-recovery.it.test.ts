// Kafka down at start, then back: the producer listens throughout, answers 503 + Retry-After while Kafka is
// away and serves requests once it returns, with no restart. The bootstrap address is a loopback forwarder
// that is closed at first and opened later.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberSchema } from "@barito-flow/proto";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { afterAll, describe, expect, it } from "@jest/globals";
import { loadProducerConfig } from "./config.js";
import { createProducerApp, withTopicProvisioner } from "./app.js";
import { connectKafkaWithRetry } from "./kafka-startup.js";
import { createProducerMetrics } from "./metrics.js";
import { freePort } from "./testing/processes.js";
import { restContext, until } from "./testing/requests.js";

const broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 8);
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function openForwarder(port: number): Promise<void> {
  const [host, targetPort] = broker.split(":") as [string, string];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(targetPort), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
}

describe("producer when Kafka is unreachable at start", () => {
  it("answers 503 + Retry-After, then recovers by itself once Kafka is reachable", async () => {
    const port = await freePort();
    const prefix = `itrec${run}_`;
    const config = loadProducerConfig({
      BARITO_KAFKA_BROKERS: `127.0.0.1:${port}`,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
      BARITO_KAFKA_RETRY_INTERVAL: "500ms",
      BARITO_KAFKA_MAX_RETRY: "0",
    });
    const kafka = { brokers: [...config.kafka.brokers], clientId: `producer-recovery-${run}` };
    const publisher = createKafkaPublisher({ ...kafka, deliveryTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
    const admin = createKafkaAdmin({ ...kafka, requestTimeoutMs: 3_000, pingTimeoutMs: 1_000 });
    const rateLimiter = createLocalRateLimiter({ intervalMs: 10_000 });
    const metrics = createProducerMetrics(config.kafka.topicSuffix);
    const app = createProducerApp(
      withTopicProvisioner({ config, logger: noopLogger, publisher, admin, rateLimiter, metrics }),
    );
    const loopback = { host: "127.0.0.1", port: 0 };
    const ports = await app.listen({ rest: loopback, grpc: loopback, metrics: loopback });
    const stopStartup = new AbortController();
    const startup = connectKafkaWithRetry({
      connect: () => Promise.all([publisher.connect(), admin.connect()]),
      maxRetry: config.kafka.connectMaxRetry,
      retryIntervalMs: config.kafka.connectRetryIntervalMs,
      logger: noopLogger,
      signal: stopStartup.signal,
    });
    cleanups.push(async () => {
      stopStartup.abort();
      await startup;
      await app.close(2_000);
      await Promise.allSettled([publisher.close(), admin.close(), rateLimiter.close()]);
    });

    const rest = `http://127.0.0.1:${ports.rest}`;
    const produce = () =>
      fetch(`${rest}/produce`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          context: restContext("back", 100),
          content: { message: "after recovery" },
        }),
      });

    const down = await produce();
    expect(down.status).toBe(503);
    expect(Number(down.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await down.json()).toMatchObject({ code: "KAFKA_UNAVAILABLE" });
    expect((await fetch(`${rest}/readyz`)).status).toBe(503);

    await openForwarder(port);
    expect(await startup).toBe(true);
    expect(await until(async () => (await fetch(`${rest}/readyz`)).status === 200, 20_000)).toBe(true);

    const up = await produce();
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ topic: `${prefix}back_logs` });
    const raw = execFileSync(
      "kcat",
      ["-b", broker, "-C", "-t", `${prefix}back_logs`, "-o", "beginning", "-e", "-q", "-c", "1", "-f", "%s"],
      { timeout: 20_000 },
    );
    const timber = toJson(TimberSchema, fromBinary(TimberSchema, raw)) as { content: { message: string } };
    expect(timber.content.message).toBe("after recovery");
  });
});
