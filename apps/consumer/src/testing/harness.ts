// Test support for the consumer's process-level integration tests: the built consumer as a child process, records
// in a real topic, the real OpenSearch read back, and a TCP forwarder that can take OpenSearch away.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import type { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { TimberSchema } from "@barito-flow/proto";
import { type IndexedSeqs, indexedSeqs } from "./indexed.js";

export { indexedOnce } from "./indexed.js";

const root = join(__dirname, "..", "..", "..", "..");
export const opensearchUrl = new URL(process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200");

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

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(everyMs);
  }
  return condition();
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
}

/** Starts `apps/consumer/dist/main.js` in a process group of its own (build the consumer first). */
export async function startConsumer(env: Record<string, string>): Promise<ConsumerProcess> {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [join(root, "apps/consumer/dist/main.js"), "consumer"], {
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info", ...env, EXPORTER_PORT: `127.0.0.1:${metricsPort}` },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let signalledAt = 0;
  const exit = new Promise<Omit<Exit, "afterSignalMs">>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
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
      const result = await Promise.race([exit, sleep(timeoutMs).then(() => undefined)]);
      return result && { ...result, afterSignalMs: signalledAt ? Date.now() - signalledAt : 0 };
    },
    ready: () =>
      fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (res) => res.ok,
        () => false,
      ),
    output: () => output,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
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
      value: Buffer.from(
        toBinary(
          TimberSchema,
          create(TimberSchema, {
            context,
            timestamp: "2026-07-08T09:10:11Z",
            content: { seq: from + sent + k, message: filler } as never,
          }),
        ),
      ),
    }));
    await writer.publish(topic, batch);
  }
}

/** Documents in the indices of `indexPrefix` and the sum of their `seq` (see indexed.ts). */
export function indexed(indexPrefix: string): Promise<IndexedSeqs> {
  return indexedSeqs(opensearchUrl.origin, indexPrefix);
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
