import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import { createConsulClient, kafkaBrokers } from "./consul-client.js";
import { createServiceResolver } from "./service-resolver.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A Consul stand-in: `state.instances` are the passing brokers, `state.down` makes it answer 503. */
async function consul(state: { instances: string[]; down?: boolean; lookups: number }) {
  const server = createServer((_req, res) => {
    state.lookups++;
    if (state.down) return void res.writeHead(503).end();
    const body = state.instances.map((address) => {
      const [host, port] = address.split(":");
      return {
        Node: { Address: host },
        Service: { Address: host, Port: Number(port) },
        Checks: [{ Status: "passing" }],
      };
    });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("createServiceResolver over Consul", () => {
  it("follows a failover: a refresh after the instances changed returns the new ones and tells onChange", async () => {
    const state = { instances: ["10.0.0.1:9092", "10.0.0.2:9092"], lookups: 0 };
    const client = createConsulClient({ url: await consul(state) });
    let now = 0;
    const changes: string[][] = [];
    const resolver = createServiceResolver({
      service: "kafka",
      lookup: () => client.passingInstances("kafka").then(kafkaBrokers),
      minIntervalMs: 1_000,
      clock: () => now,
      onChange: (brokers) => changes.push(brokers),
    });
    expect(await resolver.resolve()).toEqual(["10.0.0.1:9092", "10.0.0.2:9092"]);
    state.instances = ["10.0.0.3:9092"];
    // Within the interval: the last answer, no lookup (clients failing in a loop do not hammer Consul).
    now = 500;
    expect(await resolver.refresh()).toEqual(["10.0.0.1:9092", "10.0.0.2:9092"]);
    expect(state.lookups).toBe(1);
    now = 1_500;
    const [first, second] = await Promise.all([resolver.refresh(), resolver.refresh()]);
    expect(first).toEqual(["10.0.0.3:9092"]);
    expect(second).toEqual(["10.0.0.3:9092"]);
    expect(state.lookups).toBe(2);
    expect(changes).toEqual([["10.0.0.3:9092"]]);
    expect(resolver.current()).toEqual(["10.0.0.3:9092"]);
    // Exactly one interval later a lookup runs again; the same answer is no change.
    now = 2_500;
    expect(await resolver.refresh()).toEqual(["10.0.0.3:9092"]);
    expect(state.lookups).toBe(3);
    expect(changes).toHaveLength(1);
  });

  it("logs changes and failed lookups, without an onChange, on a clock far from zero", async () => {
    const state = { instances: ["10.0.0.1:9092"], down: false, lookups: 0 };
    const client = createConsulClient({ url: await consul(state) });
    const lines: Array<{ level: string; msg: string; meta: unknown }> = [];
    const logger = {
      debug: () => {},
      info: (msg: string, meta: unknown) => lines.push({ level: "info", msg, meta }),
      warn: (msg: string, meta: unknown) => lines.push({ level: "warn", msg, meta }),
      error: () => {},
      child: () => logger,
    };
    let now = 1_000_000;
    const resolver = createServiceResolver({
      service: "kafka",
      lookup: () => client.passingInstances("kafka").then(kafkaBrokers),
      minIntervalMs: 1_000,
      clock: () => now,
      logger,
    });
    await resolver.resolve();
    now += 999;
    await resolver.refresh();
    expect(state.lookups).toBe(1);
    state.instances = ["10.0.0.2:9092"];
    now += 1;
    await resolver.refresh();
    state.down = true;
    now += 1_000;
    await resolver.refresh();
    expect(lines).toEqual([
      { level: "info", msg: "service instances changed", meta: { service: "kafka", instances: ["10.0.0.2:9092"] } },
      {
        level: "warn",
        msg: "service lookup failed; keeping the last instances",
        meta: { service: "kafka", err: expect.objectContaining({ code: "UNREACHABLE" }), instances: ["10.0.0.2:9092"] },
      },
    ]);
  });

  it("keeps the last instances when Consul fails or the service has none left, and fails the first lookup clearly", async () => {
    const state = { instances: ["10.0.0.1:9092"], down: false, lookups: 0 };
    const client = createConsulClient({ url: await consul(state) });
    let now = 0;
    const resolver = createServiceResolver({
      service: "kafka",
      lookup: () => client.passingInstances("kafka").then(kafkaBrokers),
      minIntervalMs: 10,
      clock: () => now,
    });
    await resolver.resolve();
    state.down = true;
    now = 100;
    expect(await resolver.refresh()).toEqual(["10.0.0.1:9092"]);
    state.down = false;
    state.instances = [];
    now = 200;
    expect(await resolver.refresh()).toEqual(["10.0.0.1:9092"]);
    expect(state.lookups).toBe(3);

    const empty = createServiceResolver({ service: "kafka", lookup: () => client.passingInstances("kafka") });
    await expect(empty.resolve()).rejects.toMatchObject({ code: "NO_INSTANCES" });
    expect(await empty.refresh()).toBeUndefined();
  });
});
