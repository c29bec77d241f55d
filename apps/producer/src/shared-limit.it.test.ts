// Two producer PROCESSES (the built app, as deployed) with BARITO_RATE_LIMITER_OPT=REDIS share one app's limit
// through the real Redis: what one admits, the other cannot admit again in the same window.
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { buildProducer, spawnBuiltApp, stopChild } from "./testing/processes.js";
import { restContext } from "./testing/requests.js";

const run = randomUUID().slice(0, 8);
const children: ChildProcess[] = [];
const restPorts: number[] = [];

/** Starts the built producer on ports the kernel picks (no race for a "free" port) and gives its REST port. */
async function startProducer(): Promise<number> {
  const any = "127.0.0.1:0";
  const { child, output } = spawnBuiltApp("producer", {
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    BARITO_KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    BARITO_KAFKA_TOPIC_PREFIX: `shared${run}_`,
    BARITO_NEW_TOPIC_EVENT: `shared${run}_new_topic_events`,
    BARITO_RATE_LIMITER_OPT: "REDIS",
    BARITO_REDIS_URL: "127.0.0.1:6379",
    BARITO_REDIS_KEY_PREFIX: `barito-it:${run}:`,
    BARITO_PRODUCER_REST: any,
    BARITO_PRODUCER_GRPC: any,
    EXPORTER_PORT: any,
  });
  children.push(child);
  const deadline = Date.now() + 30_000;
  let port: number | undefined;
  let status = 0;
  while (Date.now() < deadline && status !== 200 && child.exitCode === null) {
    port ??= listeningPort(output());
    if (port !== undefined) {
      status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    }
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  if (port === undefined || status !== 200) {
    throw new Error(
      `producer ${port ?? "(no port)"} did not become ready (last /readyz ${status}):\n${output().slice(-3000)}`,
    );
  }
  return port;
}

function listeningPort(output: string): number | undefined {
  const line = output.split("\n").find((entry) => entry.includes('"msg":"producer listening"'));
  return line === undefined ? undefined : (JSON.parse(line) as { rest?: number }).rest;
}

beforeAll(async () => {
  buildProducer();
  for (let i = 0; i < 2; i++) restPorts.push(await startProducer());
});

afterAll(async () => {
  for (const child of children) await stopChild(child, "SIGTERM");
});

const batch = (n: number) =>
  JSON.stringify({
    context: restContext("shared", 1),
    items: Array.from({ length: n }, (_, i) => ({ content: { i } })),
  });
const post = (port: number, n: number) =>
  fetch(`http://127.0.0.1:${port}/produce_batch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: batch(n),
  });

describe("two producer processes on one Redis", () => {
  it("admit at most tps × interval logs of one app between them", async () => {
    const [a, b] = restPorts as [number, number];
    // app_max_tps 1 × the default 10 s window = 10 logs.
    expect((await post(a, 7)).status).toBe(200);
    const refused = await post(b, 4);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await post(b, 3)).status).toBe(200);
    expect((await post(a, 1)).status).toBe(429);
  });
});
