// BARITO_PRODUCER_WORKERS=2, the built app as deployed, against the real Kafka: both workers serve the same ports,
// LOCAL rate limits stay one window for the whole producer, /metrics adds the workers up, a killed worker is
// replaced, and SIGTERM drains everything and exits 0.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { buildProducer, producerListeners, repoRoot, spawnBuiltApp, stopChild } from "./testing/processes.js";
import { postOnOwnConnection, recordsIn, restContext } from "./testing/requests.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 8);
let primary: ChildProcess;
const ports = { rest: 0, grpc: 0, metrics: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workerPids(): number[] {
  const children = readFileSync(`/proc/${primary.pid}/task/${primary.pid}/children`, "utf8");
  return children.split(" ").filter(Boolean).map(Number);
}

async function readyz(): Promise<{ status: number; body: { checks?: { ready?: number; alive?: number } } }> {
  const res = await fetch(`http://127.0.0.1:${ports.metrics}/readyz`).catch(() => undefined);
  if (!res) return { status: 0, body: {} };
  return { status: res.status, body: (await res.json()) as { checks?: { ready?: number } } };
}

async function waitReady(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await readyz()).status === 200) return;
    await sleep(100);
  }
  throw new Error(`cluster not ready within ${timeoutMs} ms: ${JSON.stringify(await readyz())}`);
}

const post = (path: string, body: string) => postOnOwnConnection(ports.rest, path, body, 15_000);

const batch = (app: string, items: number, tps: number) =>
  JSON.stringify({
    context: restContext(app, tps),
    items: Array.from({ length: items }, (_, i) => ({ content: { message: `log ${i}`, run } })),
  });

async function metric(name: string, topic: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name}{topic="${topic}"`) && !l.includes('error_type="s'));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

beforeAll(async () => {
  buildProducer();
  const listeners = await producerListeners();
  Object.assign(ports, listeners.ports);
  primary = spawn(process.execPath, [join(repoRoot, "apps/producer/dist/main.js"), "producer"], {
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      NODE_ENV: "production",
      BARITO_PRODUCER_WORKERS: "2",
      BARITO_RATE_LIMITER_OPT: "LOCAL",
      BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: "120s",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_KAFKA_TOPIC_PREFIX: `cluster${run}_`,
      BARITO_NEW_TOPIC_EVENT: `cluster${run}_new_topic_events`,
      ...listeners.env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitReady();
}, 120_000);

afterAll(() => stopChild(primary, "SIGKILL"));

describe("BARITO_PRODUCER_WORKERS=2", () => {
  it("runs two worker processes behind the same ports and reports them ready", async () => {
    expect(workerPids()).toHaveLength(2);
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: "ready", checks: { workers: 2, alive: 2, ready: 2 } },
    });
  });

  it("keeps one LOCAL rate-limit window for all workers: 40 calls spread over both admit one window exactly", async () => {
    // app_max_tps 1 × 120 s window = 120 logs: 12 batches of 10, whichever worker answers.
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => post("/produce_batch", batch("limited", 10, 1))),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(12);
    expect(statuses.filter((s) => s === 429)).toHaveLength(28);
    const topic = `cluster${run}_limited_logs`;
    expect(recordsIn(brokers, topic)).toBe(120);
    // Both workers' counters, added up by the primary.
    expect(await metric("barito_producer_kafka_message_stored_total", topic)).toBe(120);
    expect(await metric("barito_producer_tps_exceeded_total", topic)).toBe(280);
  });

  it("replaces a worker that dies, and keeps serving meanwhile", async () => {
    const [victim, survivor] = workerPids() as [number, number];
    process.kill(victim, "SIGKILL");
    // Until the primary has reaped the victim, Node's cluster may still hand it a new connection, which then hangs
    // (a crash-instant race of Node's round-robin, not of ours). Once it is reaped, the survivor serves alone until
    // the replacement (started 1 s later) is up.
    const reapDeadline = Date.now() + 10_000;
    while (workerPids().includes(victim) && Date.now() < reapDeadline) await sleep(20);
    expect(workerPids()).not.toContain(victim);
    const served = await post("/produce_batch", batch("steady", 5, 1000));
    expect(served.status).toBe(200);
    const deadline = Date.now() + 20_000;
    let pids = workerPids();
    while (Date.now() < deadline && !(pids.length === 2 && !pids.includes(victim))) {
      await sleep(100);
      pids = workerPids();
    }
    expect(pids).toContain(survivor);
    expect(pids).not.toContain(victim);
    expect(pids).toHaveLength(2);
    await waitReady();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post("/produce_batch", batch("steady", 5, 1000))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(recordsIn(brokers, `cluster${run}_steady_logs`)).toBe(55);
  }, 60_000);

  it("on SIGTERM drains the requests in flight, stops every worker and exits 0", async () => {
    const workers = workerPids();
    // The topic exists before the signal, so what is in it afterwards is what the drain acknowledged.
    expect((await post("/produce_batch", batch("last", 10, 1000))).status).toBe(200);
    // Ten lanes each send their next batch once the last is answered, until the signal: batches are in flight on
    // both workers when it arrives.
    let signalled = false;
    const answers: Array<{ status: number; afterSignal: boolean }> = [];
    const lane = async () => {
      for (let sent = 0; !signalled && sent < 200; sent++) {
        const sentBefore = !signalled;
        const answer = await post("/produce_batch", batch("last", 10, 1000)).catch(() => ({ status: 0 }));
        answers.push({ status: answer.status, afterSignal: sentBefore && signalled });
      }
    };
    const lanes = Array.from({ length: 10 }, lane);
    while (answers.filter((a) => a.status === 200).length < 10) await sleep(5);
    const exited = new Promise<number | null>((resolve) => primary.once("exit", (code) => resolve(code)));
    signalled = true;
    primary.kill("SIGTERM");
    await Promise.all(lanes);
    expect(await exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    const ok = answers.filter((a) => a.status === 200).length;
    // The drain: batches in flight when the signal came were still answered 200.
    expect(answers.filter((a) => a.afterSignal && a.status === 200).length).toBeGreaterThan(0);
    // Every acknowledged batch is in Kafka (plus the first one); a refused one (connection closed while stopping)
    // is not required to be.
    expect(recordsIn(brokers, `cluster${run}_last_logs`)).toBeGreaterThanOrEqual((ok + 1) * 10);
  }, 60_000);
});

describe("BARITO_PRODUCER_WORKERS=2 when the workers cannot start", () => {
  it("stops the whole producer with a failure code instead of restarting them forever (REST port taken)", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const rest = (taken.address() as { port: number }).port;
    const listeners = await producerListeners();
    try {
      const producer = spawnBuiltApp("producer", {
        LOG_LEVEL: "error",
        NODE_ENV: "production",
        BARITO_PRODUCER_WORKERS: "2",
        BARITO_KAFKA_BROKERS: brokers,
        ...listeners.env,
        BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
      });
      const { code } = await producer.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
    } finally {
      taken.close();
    }
  }, 60_000);
});
