// Repeated shutdowns of the built consumer over a large backlog: one SIGTERM, two in a row, or SIGTERM to its whole
// process group (as pnpm forwards it), at varying moments: right after start, mid-drain, and after the drain. Every
// run must end within the shutdown bound. Size: STRESS_RECORDS (default 150,000 over 32 partitions) and
// STRESS_ITERATIONS (default 6); the production-size run is STRESS_RECORDS=1000000 STRESS_ITERATIONS=30.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { type ConsumerProcess, indexed, opensearchUrl, startConsumer, until, writeLogs } from "./testing/harness.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const records = Number(process.env.STRESS_RECORDS ?? 150_000);
const iterations = Number(process.env.STRESS_ITERATIONS ?? 6);
const shutdownTimeoutS = 10;
const exitBoundMs = (shutdownTimeoutS + 7) * 1_000;
const run = `sds${randomUUID().slice(0, 6)}`;
const topic = `${run}_app_logs`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `${run}-admin` });
const writer = createKafkaPublisher({ brokers: [brokers], clientId: `${run}-writer` });
const started: ConsumerProcess[] = [];

beforeAll(async () => {
  await Promise.all([admin.connect(), writer.connect()]);
  await admin.createTopic({ topic, partitions: 32, replicationFactor: 1 });
  await writeLogs(writer, topic, run, 0, records);
}, 300_000);

afterAll(async () => {
  for (const consumer of started) consumer.kill();
  await fetch(`${opensearchUrl.origin}/${run}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);
});

type Moment = "start" | "mid-drain" | "after-drain";
type Signals = "one" | "two" | "group";
interface Plan {
  moment: Moment;
  signals: Signals;
  /** Delay inside the moment (after ready, or into the drain), and between two signals. */
  delayMs: number;
  secondAfterMs: number;
}

async function shutDownOnce(plan: Plan, iteration: number): Promise<{ status: number | string; ms: number }> {
  // Before the start: a consumer that is ready may already have indexed its first bulk.
  const progressAtStart = await indexedOperations();
  const consumer = await startConsumer({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearchUrl.origin,
    BARITO_KAFKA_TOPIC_PREFIX: `${run}_`,
    // A new group each time: every run drains the whole backlog from the start.
    BARITO_KAFKA_GROUP_ID: `${run}-group-${iteration}`,
    BARITO_CONSUMER_DLQ_TOPIC: `${run}_dlq`,
    BARITO_NEW_TOPIC_EVENT: `${run}_events`,
    BARITO_SHUTDOWN_TIMEOUT: `${shutdownTimeoutS}s`,
    LOG_LEVEL: "info",
  });
  started.push(consumer);
  expect(await until(consumer.ready, 30_000, 50)).toBe(true);
  const reached = async (operations: number, timeoutMs: number) => {
    if (await until(async () => (await indexedOperations()) >= progressAtStart + operations, timeoutMs, 100)) return;
    const metrics = await fetch(`http://127.0.0.1:${consumer.metricsPort}/metrics`).then((r) => r.text(), String);
    const lines = metrics
      .split("\n")
      .filter((line) => /^barito_consumer_(lag|kafka_message_incoming_total)\{/.test(line));
    throw new Error(
      `run ${iteration} ${JSON.stringify(plan)}: ${(await indexedOperations()) - progressAtStart} of ${operations} ` +
        `index operations after ${timeoutMs} ms\n${lines.join("\n")}\n${consumer.output().slice(-4_000)}`,
    );
  };
  if (plan.moment === "mid-drain") await reached(20_000, 60_000);
  if (plan.moment === "after-drain") await reached(records, 180_000);
  await sleep(plan.delayMs);
  const target = plan.signals === "group" ? "group" : "process";
  consumer.signal("SIGTERM", target);
  if (plan.signals !== "one") {
    await sleep(plan.secondAfterMs);
    consumer.signal("SIGTERM", target);
  }
  const exit = await consumer.exited(exitBoundMs);
  if (!exit) {
    consumer.kill();
    throw new Error(`run ${iteration} ${JSON.stringify(plan)} did not exit within ${exitBoundMs} ms`);
  }
  return { status: exit.code ?? (exit.signal as string), ms: exit.afterSignalMs };
}

/** Index operations acknowledged so far on this run's indices (overwrites of the same ids count too). */
async function indexedOperations(): Promise<number> {
  const res = await fetch(
    `${opensearchUrl.origin}/${run}-*/_stats/indexing?filter_path=_all.primaries.indexing.index_total`,
  );
  if (!res.ok) return 0;
  const body = (await res.json()) as { _all?: { primaries?: { indexing?: { index_total?: number } } } };
  return body._all?.primaries?.indexing?.index_total ?? 0;
}

describe(`repeated shutdowns over a ${records}-record backlog`, () => {
  it("every run ends within the bound, whatever the signals and the moment", async () => {
    const seed = Number(process.env.STRESS_SEED ?? Date.now() % 2 ** 31);
    console.info(`shutdown plans from STRESS_SEED=${seed}`);
    const plans = fc.sample(
      fc.record<Plan>({
        moment: fc.constantFrom("start", "mid-drain", "after-drain"),
        signals: fc.constantFrom("one", "two", "group"),
        delayMs: fc.integer({ min: 0, max: 1_500 }),
        secondAfterMs: fc.integer({ min: 0, max: 1_000 }),
      }),
      { numRuns: iterations, seed },
    );
    // Each moment and each kind of signal at least once.
    plans[0] = { ...(plans[0] as Plan), moment: "after-drain", signals: "group" };
    if (plans.length > 2) {
      plans[1] = { ...(plans[1] as Plan), moment: "mid-drain", signals: "two" };
      plans[2] = { ...(plans[2] as Plan), moment: "start", signals: "one" };
    }
    const outcomes: string[] = [];
    for (const [iteration, plan] of plans.entries()) {
      const runStarted = Date.now();
      const { status, ms } = await shutDownOnce(plan, iteration);
      outcomes.push(
        `${plan.moment}/${plan.signals}/${plan.delayMs}+${plan.secondAfterMs}ms: ${status} in ${ms} ms (run ${Date.now() - runStarted} ms)`,
      );
      console.info(`shutdown ${iteration + 1}/${plans.length}: ${outcomes.at(-1)}`);
      // One signal is a graceful stop; a second one ends the process by its default action.
      expect(plan.signals === "one" ? [0] : [0, 1, "SIGTERM"]).toContain(status);
    }
    console.info(`shutdowns:\n${outcomes.join("\n")}`);
    expect((await indexed(run)).count).toBe(records);
  }, 1_800_000);
});
