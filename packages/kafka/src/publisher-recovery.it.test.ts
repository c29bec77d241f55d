import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { KafkaError } from "./errors.js";
import { createBatchConsumer } from "./batch-consumer.js";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import type { KafkaAdmin, MessagePublisher } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const runId = randomUUID().slice(0, 8);

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * A loopback TCP forwarder standing in for "the bootstrap broker": while it is not listening the cluster is
 * unreachable at start. Once bootstrapped, librdkafka talks to the broker's advertised address directly, which is
 * exactly the production situation of a bootstrap address that comes back.
 */
function startForwarder(port: number, target: string): Promise<{ server: Server; sockets: Set<Socket> }> {
  const [host, targetPort] = target.split(":") as [string, string];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(targetPort), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ server, sockets })));
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("createKafkaPublisher() when Kafka is down at start", () => {
  let admin: KafkaAdmin;
  let publisher: MessagePublisher | undefined;
  let forwarder: { server: Server; sockets: Set<Socket> } | undefined;
  const target = `it-kafka-recover-${runId}`;

  beforeAll(async () => {
    admin = createKafkaAdmin({ brokers, clientId: "it-recovery-admin" });
    await admin.connect();
    await admin.createTopic({ topic: target, partitions: 1 });
  });

  afterAll(async () => {
    await publisher?.close();
    if (forwarder) {
      for (const socket of forwarder.sockets) socket.destroy();
      await new Promise((resolve) => forwarder?.server.close(resolve));
    }
    await admin?.deleteTopics([target]).catch(() => {});
    await admin?.close();
  });

  it("rejects connect() and publish() as retriable, then reconnects by itself once the broker is reachable", async () => {
    const port = await freePort();
    publisher = createKafkaPublisher({
      brokers: [`127.0.0.1:${port}`],
      clientId: "it-recovery",
      reconnectIntervalMs: 200,
      connectTimeoutMs: 2_000,
      deliveryTimeoutMs: 5_000,
    });

    const failure = await publisher.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KafkaError);
    expect((failure as KafkaError).retriable).toBe(true);
    expect(publisher.isConnected()).toBe(false);
    await expect(publisher.publish(target, [{ value: Buffer.from("too early") }])).rejects.toMatchObject({
      code: "BROKER_UNAVAILABLE",
      retriable: true,
    });

    forwarder = await startForwarder(port, brokers[0] as string);
    const current = publisher;
    await waitFor(() => current.isConnected(), 30_000, "the background reconnect");

    await publisher.publish(target, [{ value: Buffer.from("after recovery") }]);
    const [partition] = await admin.fetchTopicOffsets(target);
    expect(partition?.high).toBe("1");
  });
});

// A connection attempt's native metadata request used to wait 30 s on libuv's thread pool whatever the caller's
// bound, keeping a closed client's process alive (and a Jest run, or a pod's exit) that long.
describe("a connection attempt against an unreachable cluster", () => {
  it("ends within the publisher's connectTimeoutMs: no native call is left once the publisher is closed", async () => {
    const unreachable = createKafkaPublisher({
      brokers: [`127.0.0.1:${await freePort()}`],
      clientId: "it-recovery-bounded",
      connectTimeoutMs: 1_000,
    });
    await expect(unreachable.connect()).rejects.toMatchObject({ retriable: true });
    await unreachable.close();
    await waitFor(() => !unreachable.nativeCallRunning(), 5_000, "the last attempt's native calls to end");
  });

  it("ends within the consumer's connectTimeoutMs: connect() rejects as retriable", async () => {
    const consumer = createBatchConsumer({
      brokers: [`127.0.0.1:${await freePort()}`],
      clientId: "it-recovery-consumer",
      groupId: `it-recovery-${runId}`,
      connectTimeoutMs: 1_000,
    });
    let settled = false;
    const outcome = consumer.connect().finally(() => {
      settled = true;
    });
    outcome.catch(() => {});
    await waitFor(() => settled, 5_000, "connect() to settle");
    await expect(outcome).rejects.toMatchObject({ retriable: true });
    await consumer.disconnect();
  });
});
