// `resolveBrokers` (service discovery) against the real broker: a client configured with a dead bootstrap address
// connects once the resolver names the real one, and a failing or empty resolver keeps the brokers it had.
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createKafkaAdmin } from "./kafka-admin.js";
import { createKafkaPublisher } from "./kafka-publisher.js";
import type { KafkaAdmin, MessagePublisher } from "./types.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => {});
});

async function deadBroker(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describe("resolveBrokers", () => {
  it("bootstraps the admin client and the publisher from the brokers the resolver names", async () => {
    const dead = await deadBroker();
    let asked = 0;
    const resolveBrokers = async () => {
      asked++;
      return brokers;
    };
    const admin: KafkaAdmin = createKafkaAdmin({ brokers: [dead], clientId: "it-resolve-admin", resolveBrokers });
    closers.push(() => admin.close());
    await admin.connect();
    expect(await admin.listTopics()).toEqual(expect.any(Array));
    const publisher: MessagePublisher = createKafkaPublisher({
      brokers: [dead],
      clientId: "it-resolve-publisher",
      resolveBrokers,
    });
    closers.push(() => publisher.close());
    await publisher.connect();
    expect(publisher.isConnected()).toBe(true);
    expect(asked).toBe(2);
  });

  it("keeps the configured brokers when the resolver fails or has none", async () => {
    for (const resolveBrokers of [async () => Promise.reject(new Error("consul down")), async () => []]) {
      const admin = createKafkaAdmin({ brokers, clientId: "it-resolve-keep", resolveBrokers });
      closers.push(() => admin.close());
      await admin.connect();
      expect(await admin.listTopics()).toEqual(expect.any(Array));
    }
  });
});
