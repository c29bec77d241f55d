// Test support for the consumer's process-level integration tests: the built consumer as a child process, records
// in a real topic, the real OpenSearch read back, and a TCP forwarder that can take OpenSearch away.
import type { ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { type IndexedSeqs, indexedSeqs } from "./indexed.js";
import { repoRoot, spawnCaptured } from "./process.js";
import { opensearch, stackEndpoints } from "./stack.js";
import { encodeTimber } from "./timber.js";

export { indexedOnce } from "./indexed.js";
export { opensearchUrl } from "./stack.js";
export { until } from "./wait.js";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the first signal sent through `signal()`. */
  afterSignalMs: number;
}

export interface ConsumerProcess {
  readonly child: ChildProcess;
  readonly metricsPort: number;
  /** Sends a signal to the consumer, or to its whole process group (as a supervisor like pnpm does). */
  signal(signal: NodeJS.Signals, target?: "process" | "group"): void;
  /** Settles when the process has exited, or with undefined after `timeoutMs`. */
  exited(timeoutMs: number): Promise<Exit | undefined>;
  ready(): Promise<boolean>;
  output(): string;
  kill(): void;
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
}

/** Starts `apps/consumer/dist/main.js` in a process group of its own (build the consumer first). */
export async function startConsumer(env: Record<string, string>): Promise<ConsumerProcess> {
  const metricsPort = await freePort();
  const main = join(repoRoot, "apps/consumer/dist/main.js");
  const { child, exit, output } = spawnCaptured(process.execPath, [main, "consumer"], {
    env: { LOG_FORMAT: "json", LOG_LEVEL: "info", ...env, EXPORTER_PORT: `127.0.0.1:${metricsPort}` },
    detached: true,
  });
  let signalledAt = 0;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const consumer: ConsumerProcess = {
    child,
    metricsPort,
    signal(signal, target = "process") {
      signalledAt ||= Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(target === "group" ? -(child.pid as number) : (child.pid as number), signal);
      } catch {}
    },
    async exited(timeoutMs) {
      const result = await Promise.race([exit, sleep(timeoutMs, undefined, { ref: false })]);
      return result && { ...result, afterSignalMs: signalledAt ? Date.now() - signalledAt : 0 };
    },
    ready: () =>
      fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (res) => res.ok,
        () => false,
      ),
    output,
    kill,
    async stop(timeoutMs) {
      consumer.signal("SIGTERM");
      await consumer.exited(timeoutMs);
      kill();
    },
  };
  return consumer;
}

/**
 * `startConsumer` on the stack's Kafka and OpenSearch, logging errors only: topics `<name>_*`, dead letters in
 * `<name>_dlq`, the group `<name>`; `env` adds to that or overrides it.
 */
export function startStackConsumer(name: string, env: Record<string, string>): Promise<ConsumerProcess> {
  const names = {
    BARITO_KAFKA_TOPIC_PREFIX: `${name}_`,
    BARITO_KAFKA_GROUP_ID: name,
    BARITO_CONSUMER_DLQ_TOPIC: `${name}_dlq`,
  };
  return startConsumer({ LOG_LEVEL: "error", ...stackEndpoints, ...names, ...env });
}

/** Writes `count` Timber records whose content carries `seq` = from..from+count-1. */
export async function writeLogs(
  writer: ReturnType<typeof createKafkaPublisher>,
  topic: string,
  indexPrefix: string,
  from: number,
  count: number,
): Promise<void> {
  const context = { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 100 };
  const filler = "x".repeat(400);
  for (let sent = 0; sent < count; sent += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, count - sent) }, (_, k) => ({
      key: String(from + sent + k),
      value: encodeTimber(context, "2026-07-08T09:10:11Z", { seq: from + sent + k, message: filler }),
    }));
    await writer.publish(topic, batch);
  }
}

/** Documents in the indices of `indexPrefix` and the sum of their `seq` (see indexed.ts). */
export function indexed(indexPrefix: string): Promise<IndexedSeqs> {
  return indexedSeqs(opensearch, indexPrefix);
}

export async function committedTotal(
  admin: ReturnType<typeof createKafkaAdmin>,
  groupId: string,
  topic: string,
): Promise<number> {
  const committed = await admin.fetchCommittedOffsets(groupId, [topic]);
  return committed.reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0);
}

/** A forwarder to a TCP server that can be taken down (open connections reset, new ones refused) and back up. */
export function createForwarder(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket)).on("error", () => socket.destroy());
  };
  return {
    get port() {
      return port;
    },
    async up() {
      server = createServer((inbound) => {
        const outbound = tcpConnect(target.port, target.host);
        track(inbound);
        track(outbound);
        inbound.pipe(outbound).pipe(inbound);
        inbound.on("close", () => outbound.destroy());
        outbound.on("close", () => inbound.destroy());
      });
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(port, "127.0.0.1", resolve));
      port = (listening.address() as { port: number }).port;
    },
    async down() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.resetAndDestroy();
      await new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
    },
  };
}
