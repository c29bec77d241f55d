// Checks the running local stack with each server's own wire protocol (no client libraries), plus the CLI's
// `status --quiet` contract that CI scripts rely on. Self-contained on purpose (test-wire.ts): Jest (swc, CJS)
// cannot load the stack modules' `.ts`-extension imports.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { exchange, fullFrame, host, kafkaRequest } from "./test-wire.ts";

const kafkaPort = Number(process.env.STACK_KAFKA_PORT || 9092);
const openSearchUrl = `http://${host}:${Number(process.env.STACK_OPENSEARCH_PORT || 9200)}`;
const redisPort = Number(process.env.STACK_REDIS_PORT || 6379);

describe("local stack", () => {
  it("Kafka answers ApiVersions without error and lists itself as the only broker in Metadata", async () => {
    const versions = await exchange(kafkaPort, kafkaRequest(18, 0, 7, Buffer.alloc(0)), fullFrame);
    expect(versions.readInt32BE(4)).toBe(7); // correlation id
    expect(versions.readInt16BE(8)).toBe(0); // error_code NONE
    const apiCount = versions.readInt32BE(10);
    const apiKeys = Array.from({ length: apiCount }, (_, i) => versions.readInt16BE(14 + i * 6));
    expect(apiKeys).toEqual(expect.arrayContaining([0, 1, 3, 18])); // Produce, Fetch, Metadata, ApiVersions

    const body = Buffer.alloc(5);
    body.writeInt32BE(-1, 0); // all topics
    const metadata = await exchange(kafkaPort, kafkaRequest(3, 4, 8, body), fullFrame);
    expect(metadata.readInt32BE(4)).toBe(8);
    expect(metadata.readInt32BE(12)).toBe(1); // one broker
    const nodeId = metadata.readInt32BE(16);
    const hostLength = metadata.readInt16BE(20);
    const brokerHost = metadata.toString("utf8", 22, 22 + hostLength);
    const brokerPort = metadata.readInt32BE(22 + hostLength);
    expect({ nodeId, brokerHost, brokerPort }).toEqual({ nodeId: 1, brokerHost: host, brokerPort: kafkaPort });
  });

  it("OpenSearch 2.19 reports a yellow or green cluster", async () => {
    const health = (await (await fetch(`${openSearchUrl}/_cluster/health`)).json()) as {
      status: string;
      number_of_nodes: number;
    };
    expect(["yellow", "green"]).toContain(health.status);
    expect(health.number_of_nodes).toBe(1);
    const root = (await (await fetch(`${openSearchUrl}/`)).json()) as {
      version: { number: string; distribution: string };
    };
    expect(root.version.distribution).toBe("opensearch");
    expect(root.version.number).toMatch(/^2\.19\./);
  });

  it("Redis answers PING over a raw socket", async () => {
    const reply = await exchange(redisPort, Buffer.from("PING\r\n"), (received) => received.includes("\r\n"));
    expect(reply.toString()).toBe("+PONG\r\n");
  });

  it("`stack.ts status --quiet` exits 0 while every component runs, and rejects an unknown component", () => {
    const script = join(__dirname, "stack.ts");
    expect(spawnSync(process.execPath, [script, "status", "--quiet"], { encoding: "utf8" }).status).toBe(0);
    const bad = spawnSync(process.execPath, [script, "stop", "zookeeper"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown component "zookeeper"');
  });
});
