// `pnpm stack up --cluster` for real, on a PRIVATE directory and port block (so neither the shared single-node
// stack nor a developer's own cluster is touched): the KRaft quorum has 3 voters, a new topic gets 3 replicas and
// min.insync.replicas 2, OpenSearch forms one cluster of 2 nodes and gives new indices a replica, `status --json`
// describes every node, a Kafka node SIGKILLed (`stop --force`) and started again rejoins the ISR, and `down`
// stops everything. About two to three minutes on the 2-core machine, most of it the five JVMs booting.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { host, kafkaMetadata, kafkaQuorum, kafkaTopicConfig, type PartitionMetadata } from "./test-wire.ts";

const script = join(__dirname, "stack.ts");
// Not mkdtemp: its 0700 mode would keep out the unprivileged user OpenSearch runs as when the tests run as root.
const dir = join(tmpdir(), `barito-cluster-it-${randomUUID().slice(0, 8)}`);

interface Ports {
  kafka: number;
  controller: number;
  opensearch: number;
  transport: number;
  redis: number;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A block of ports below the ephemeral range, every one of them free: node i uses base + i - 1. */
async function freeBlock(): Promise<Ports> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 1000) * 10;
    const ports = { kafka: base, controller: base + 3, opensearch: base + 6, transport: base + 8, redis: base + 10 };
    const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((offset) => base + offset);
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error("no free block of 11 ports found");
}

let ports: Ports;
let env: NodeJS.ProcessEnv;

function stack(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args, "--cluster"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => resolve({ code, output }));
  });
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

const brokerPort = (nodeId: number) => ports.kafka + nodeId - 1;
const topic = `cluster-it-${randomUUID().slice(0, 8)}`;

/** The topic's only partition as a live broker reports it. */
async function partition(askNode: number): Promise<PartitionMetadata | undefined> {
  const metadata = await kafkaMetadata(brokerPort(askNode), [topic]);
  return metadata.topics[0]?.partitions[0];
}

beforeAll(async () => {
  ports = await freeBlock();
  env = {
    ...process.env,
    STACK_CLUSTER_DIR: dir,
    STACK_CLUSTER_KAFKA_PORT: String(ports.kafka),
    STACK_CLUSTER_KAFKA_CONTROLLER_PORT: String(ports.controller),
    STACK_CLUSTER_OPENSEARCH_PORT: String(ports.opensearch),
    STACK_CLUSTER_OPENSEARCH_TRANSPORT_PORT: String(ports.transport),
    STACK_CLUSTER_REDIS_PORT: String(ports.redis),
  };
  const up = await stack("up");
  if (up.code !== 0) console.error(up.output);
  expect(up.code).toBe(0);
}, 400_000);

afterAll(async () => {
  // The safety net of a run cut short: stops what the cluster's pid files name (ours only), then the directory goes.
  if (env) await stack("down", "--force");
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("pnpm stack --cluster", () => {
  it("status --json lists three Kafka nodes with their broker ids, two OpenSearch nodes and Redis, all running", async () => {
    const status = await stack("status", "--json");
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.output) as Record<string, unknown>[];
    expect(rows.map((row) => [row.name, row.state, row.address, row.nodeId])).toEqual([
      ["kafka-1", "running", `${host}:${ports.kafka}`, 1],
      ["kafka-2", "running", `${host}:${ports.kafka + 1}`, 2],
      ["kafka-3", "running", `${host}:${ports.kafka + 2}`, 3],
      ["opensearch-1", "running", `http://${host}:${ports.opensearch}`, undefined],
      ["opensearch-2", "running", `http://${host}:${ports.opensearch + 1}`, undefined],
      ["redis", "running", `${host}:${ports.redis}`, undefined],
    ]);
    for (const row of rows) {
      expect(Object.keys(row).slice(0, 5)).toEqual(["name", "state", "pid", "address", "version"]);
      expect(row.pid).toEqual(expect.any(Number));
    }
  });

  it("Kafka runs a KRaft quorum of 3 voters and all three brokers serve Metadata", async () => {
    const quorum = await kafkaQuorum(ports.kafka);
    expect(quorum.error).toBe(0);
    expect([...quorum.voters].sort()).toEqual([1, 2, 3]);
    expect([1, 2, 3]).toContain(quorum.leaderId);
    for (const nodeId of [1, 2, 3]) {
      const metadata = await kafkaMetadata(brokerPort(nodeId));
      expect(metadata.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);
    }
  });

  it("a new topic gets 3 replicas, all in sync, and min.insync.replicas 2", async () => {
    await kafkaMetadata(ports.kafka, [topic], true); // auto-creation, with the cluster's defaults
    const created = await until(
      async () => {
        const found = await partition(1);
        return found && found.leader >= 1 && found.isr.length === 3 ? found : undefined;
      },
      60_000,
      `${topic} with a leader and 3 in-sync replicas`,
    );
    expect([...created.replicas].sort()).toEqual([1, 2, 3]);
    expect(await kafkaTopicConfig(ports.kafka, topic, "min.insync.replicas")).toBe("2");
  });

  it("OpenSearch is one cluster of 2 nodes, and a new index gets a replica on the other node (green)", async () => {
    const url = `http://${host}:${ports.opensearch}`;
    const health = (await (await fetch(`${url}/_cluster/health`)).json()) as { number_of_nodes: number };
    expect(health.number_of_nodes).toBe(2);
    const index = `cluster-it-${randomUUID().slice(0, 8)}`;
    expect((await fetch(`${url}/${index}`, { method: "PUT" })).status).toBe(200);
    const settings = (await (await fetch(`${url}/${index}/_settings`)).json()) as Record<
      string,
      { settings: { index: { number_of_replicas: string } } }
    >;
    expect(settings[index]?.settings.index.number_of_replicas).toBe("1");
    const green = (await (await fetch(`${url}/_cluster/health/${index}?wait_for_status=green&timeout=60s`)).json()) as {
      status: string;
      active_shards: number;
    };
    expect(green.status).toBe("green");
    expect(green.active_shards).toBe(2);
  });

  it("stop --force of the partition's leader: the ISR shrinks to 2; start: it recovers to 3", async () => {
    const leader = (await partition(1))?.leader as number;
    const survivor = leader === 1 ? 2 : 1;
    const stop = await stack("stop", `kafka-${leader}`, "--force");
    expect(stop.code).toBe(0);
    expect(stop.output).toContain(`kafka-${leader}: killed with SIGKILL (--force`);
    const shrunk = await until(
      async () => {
        const found = await partition(survivor);
        return found && found.leader !== leader && found.leader >= 1 && found.isr.length === 2 ? found : undefined;
      },
      60_000,
      `a new leader and an ISR of 2 after kafka-${leader} was killed`,
    );
    expect(shrunk.isr).not.toContain(leader);
    const stopped = JSON.parse((await stack("status", "--json", "--only", `kafka-${leader}`)).output) as {
      state: string;
    }[];
    expect(stopped[0]?.state).toBe("stopped");

    const start = await stack("start", `kafka-${leader}`);
    expect(start.code).toBe(0);
    const recovered = await until(
      async () => {
        const found = await partition(survivor);
        return found && found.isr.length === 3 ? found : undefined;
      },
      90_000,
      `kafka-${leader} back in the ISR`,
    );
    expect([...recovered.isr].sort()).toEqual([1, 2, 3]);
  }, 240_000);

  it("down stops every node", async () => {
    const down = await stack("down");
    expect(down.code).toBe(0);
    const rows = JSON.parse((await stack("status", "--json")).output) as { name: string; state: string }[];
    expect(rows.map((row) => row.state)).toEqual(Array(6).fill("stopped"));
  }, 120_000);
});
