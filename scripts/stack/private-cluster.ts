// A `pnpm stack up --cluster` of a test's own: a private directory and a free port block, so neither the shared
// single-node stack nor a developer's cluster is touched. The stack CLI does the work (as `pnpm stack` would), with
// the cluster's variables in its environment only.
//
// `CLUSTER_TEST_ATTACH=<dir>:<kafka base port>` attaches to a cluster already up with those settings (the other
// ports at the same offsets as below) and leaves it running: for iterating on a test without the minute of boot.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "@jest/globals";
import type { ClusterPorts, PrivateCluster } from "./private-cluster-api.d.ts";
import { kafkaMetadata } from "./test-wire.ts";

export type { ClusterNode, ClusterPorts, PartitionState, PrivateCluster } from "./private-cluster-api.d.ts";

export const host = "127.0.0.1";
const script = join(__dirname, "stack.ts");

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

const offsets = (base: number): ClusterPorts => ({
  kafka: base,
  controller: base + 3,
  opensearch: base + 6,
  transport: base + 8,
  redis: base + 10,
});

/** A block of 11 ports below the ephemeral range, every one of them free: node i uses base + i - 1. */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 1000) * 10;
    const all = Array.from({ length: 11 }, (_, offset) => base + offset);
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return offsets(base);
  }
  throw new Error("no free block of 11 ports found");
}

export function clusterEnv(dir: string, ports: ClusterPorts): NodeJS.ProcessEnv {
  return {
    ...process.env,
    STACK_CLUSTER_DIR: dir,
    STACK_CLUSTER_KAFKA_PORT: String(ports.kafka),
    STACK_CLUSTER_KAFKA_CONTROLLER_PORT: String(ports.controller),
    STACK_CLUSTER_OPENSEARCH_PORT: String(ports.opensearch),
    STACK_CLUSTER_OPENSEARCH_TRANSPORT_PORT: String(ports.transport),
    STACK_CLUSTER_REDIS_PORT: String(ports.redis),
  };
}

/** Runs `stack.ts <args> --cluster` with `env`; never throws, the exit code says how it went. */
export function clusterCli(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args, "--cluster"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

async function checked(env: NodeJS.ProcessEnv, ...args: string[]): Promise<void> {
  const result = await clusterCli(env, ...args);
  if (result.code !== 0) throw new Error(`stack ${args.join(" ")} --cluster exited ${result.code}: ${result.output}`);
}

/** Brings a private cluster up (about a minute and 2.4 GB on the 2-core machine), or attaches to one. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const attach = process.env.CLUSTER_TEST_ATTACH;
  let dir: string;
  let ports: ClusterPorts;
  if (attach) {
    const at = attach.lastIndexOf(":");
    dir = attach.slice(0, at);
    ports = offsets(Number(attach.slice(at + 1)));
  } else {
    // Not mkdtemp: its 0700 mode would keep out the unprivileged user OpenSearch runs as when tests run as root.
    dir = join(tmpdir(), `barito-cluster-${randomUUID().slice(0, 8)}`);
    ports = await freeClusterPorts();
  }
  const env = clusterEnv(dir, ports);
  if (!attach) {
    try {
      await checked(env, "up");
    } catch (error) {
      await clusterCli(env, "down", "--force");
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  return {
    ports,
    brokers: [0, 1, 2].map((i) => `${host}:${ports.kafka + i}`),
    opensearchUrls: [0, 1].map((i) => `http://${host}:${ports.opensearch + i}`),
    brokerPort: (nodeId) => ports.kafka + nodeId - 1,
    async partition(topic, askNodes = [1, 2, 3], partition = 0) {
      for (const nodeId of askNodes) {
        const metadata = await kafkaMetadata(ports.kafka + nodeId - 1, [topic]).catch(() => undefined);
        const found = metadata?.topics[0]?.partitions.find((entry) => entry.partition === partition);
        if (found) return { leader: found.leader, replicas: [...found.replicas], isr: [...found.isr] };
      }
      return undefined;
    },
    stop: (node, options = {}) => checked(env, "stop", node, ...(options.force ? ["--force"] : [])),
    start: (node) => checked(env, "start", node),
    async down() {
      if (attach) return;
      await clusterCli(env, "down", "--force");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every 500 ms until it gives a value; throws after `timeoutMs`, with the last error it threw. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
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

/** Cluster tests are opt-in (`CLUSTER_TESTS=1`, `pnpm test:cluster`): each brings up five JVMs for minutes. */
export const clusterTestsEnabled = process.env.CLUSTER_TESTS === "1" || process.env.CLUSTER_TEST_ATTACH !== undefined;

/** `describe`, or `describe.skip` with a line saying how to run it when cluster tests are not enabled. */
export function describeCluster(name: string, body: () => void): void {
  if (clusterTestsEnabled) {
    describe(name, body);
    return;
  }
  console.info(`skipped: ${name} (set CLUSTER_TESTS=1 or run \`pnpm test:cluster\`)`);
  describe.skip(name, body);
}
