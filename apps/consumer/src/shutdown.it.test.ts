// SIGTERM in every state ends the built consumer within BARITO_SHUTDOWN_TIMEOUT plus its watchdog's grace, with the
// exit code saying whether the drain finished, and nothing acknowledged lost: offsets never pass what OpenSearch
// holds, and a consumer started afterwards in the same group indexes the rest exactly once.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createKafkaAdmin, createKafkaPublisher } from "@barito-flow/kafka";
import { afterAll, describe, expect, it } from "@jest/globals";
import {
  type ConsumerProcess,
  committedTotal,
  createForwarder,
  freePort,
  indexed,
  indexedOnce,
  opensearchUrl,
  startConsumer,
  until,
  writeLogs,
} from "./testing/harness.js";

const sharedBroker = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const root = join(__dirname, "..", "..", "..");
const shutdownTimeoutS = 6;
/** The watchdog ends the process 5 s after the budget; 2 s more for the process to be reaped. */
const exitBoundMs = (shutdownTimeoutS + 7) * 1_000;
const processes: ConsumerProcess[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const process of processes) process.kill();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

function scenario(name: string, brokers = sharedBroker) {
  const run = `sd${name}${randomUUID().slice(0, 6)}`;
  const topic = `${run}_app_logs`;
  const admin = createKafkaAdmin({ brokers: [brokers], clientId: `${run}-admin` });
  const writer = createKafkaPublisher({ brokers: [brokers], clientId: `${run}-writer` });
  cleanups.push(async () => {
    await fetch(`${opensearchUrl.origin}/${run}-*`, { method: "DELETE" }).catch(() => undefined);
    await admin.deleteTopics([topic]).catch(() => undefined);
    await Promise.allSettled([admin.close(), writer.close()]);
  });
  return {
    run,
    topic,
    admin,
    writer,
    groupId: `${run}-group`,
    async setUp(partitions: number) {
      await Promise.all([admin.connect(), writer.connect()]);
      await admin.createTopic({ topic, partitions, replicationFactor: 1 });
    },
    async consumer(env: Record<string, string> = {}) {
      const consumer = await startConsumer({
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_ELASTICSEARCH_URLS: opensearchUrl.origin,
        BARITO_KAFKA_TOPIC_PREFIX: `${run}_`,
        BARITO_KAFKA_GROUP_ID: `${run}-group`,
        BARITO_CONSUMER_DLQ_TOPIC: `${run}_dlq`,
        BARITO_NEW_TOPIC_EVENT: `${run}_events`,
        BARITO_SHUTDOWN_TIMEOUT: `${shutdownTimeoutS}s`,
        ...env,
      });
      processes.push(consumer);
      expect(await until(consumer.ready, 30_000)).toBe(true);
      return consumer;
    },
    /** Offsets committed by the group never pass the documents OpenSearch holds (one document per record). */
    async expectNothingCommittedUnindexed() {
      const [committed, docs] = await Promise.all([committedTotal(admin, `${run}-group`, topic), indexed(run)]);
      expect(committed).toBeLessThanOrEqual(docs.count);
      return committed;
    },
    /** A consumer started afterwards in the same group indexes every record exactly once. */
    async expectEverythingIndexedOnce(total: number, env: Record<string, string> = {}) {
      const next = await this.consumer(env);
      expect(await until(async () => (await indexed(run)).count >= total, 90_000, 500)).toBe(true);
      next.signal("SIGTERM");
      await expectExit(next, 0);
      expect(await indexed(run)).toEqual(indexedOnce(total));
    },
  };
}

/** Waits for the exit and checks its status (an exit code, or the signal that ended the process). */
async function expectExit(consumer: ConsumerProcess, ...allowed: Array<number | NodeJS.Signals>) {
  const exit = await consumer.exited(exitBoundMs);
  const tail = () => consumer.output().slice(-3_000);
  if (!exit) throw new Error(`the consumer did not exit within ${exitBoundMs} ms; its last output:\n${tail()}`);
  const status = exit.code ?? exit.signal;
  if (!allowed.includes(status as number)) throw new Error(`exit status ${status}, expected ${allowed}:\n${tail()}`);
  expect(exit.afterSignalMs).toBeLessThan(exitBoundMs);
  console.info(`${expect.getState().currentTestName}: exit status ${status} ${exit.afterSignalMs} ms after SIGTERM`);
}

describe("the consumer process on SIGTERM (real Kafka and OpenSearch)", () => {
  it("under steady traffic: exits 0, and the rest is indexed once by the next consumer", async () => {
    const s = scenario("steady");
    await s.setUp(4);
    let written = 0;
    let writing = true;
    const traffic = (async () => {
      while (writing) {
        await writeLogs(s.writer, s.topic, s.run, written, 1_000);
        written += 1_000;
        await sleep(100);
      }
    })();
    const consumer = await s.consumer();
    expect(await until(async () => (await indexed(s.run)).count > 2_000, 30_000)).toBe(true);
    consumer.signal("SIGTERM");
    await expectExit(consumer, 0);
    writing = false;
    await traffic;
    expect(await s.expectNothingCommittedUnindexed()).toBeGreaterThan(0);
    await s.expectEverythingIndexedOnce(written);
  }, 180_000);

  it("mid-drain of a large backlog: exits 0 within the bound", async () => {
    const s = scenario("backlog");
    await s.setUp(16);
    const total = 200_000;
    await writeLogs(s.writer, s.topic, s.run, 0, total);
    const consumer = await s.consumer();
    expect(await until(async () => (await indexed(s.run)).count > 5_000, 30_000, 100)).toBe(true);
    consumer.signal("SIGTERM");
    await expectExit(consumer, 0);
    const committed = await s.expectNothingCommittedUnindexed();
    expect(committed).toBeLessThan(total);
    await s.expectEverythingIndexedOnce(total);
  }, 240_000);

  it("with OpenSearch down: exits 1 (cut short) within the bound, committing nothing unindexed", async () => {
    const s = scenario("osdown");
    await s.setUp(3);
    const forwarder = createForwarder({ host: opensearchUrl.hostname, port: Number(opensearchUrl.port) });
    await forwarder.up();
    cleanups.push(() => forwarder.down());
    await writeLogs(s.writer, s.topic, s.run, 0, 3_000);
    const consumer = await s.consumer({ BARITO_ELASTICSEARCH_URLS: `http://127.0.0.1:${forwarder.port}` });
    expect(await until(async () => (await indexed(s.run)).count >= 3_000, 30_000)).toBe(true);
    await forwarder.down();
    await writeLogs(s.writer, s.topic, s.run, 3_000, 3_000);
    await sleep(2_000);
    consumer.signal("SIGTERM");
    await expectExit(consumer, 1);
    await s.expectNothingCommittedUnindexed();
    await s.expectEverythingIndexedOnce(6_000);
  }, 180_000);

  it("during a rebalance (a second member joining): exits 0 within the bound, the other member finishes", async () => {
    const s = scenario("rebalance");
    await s.setUp(8);
    const total = 100_000;
    await writeLogs(s.writer, s.topic, s.run, 0, total);
    const first = await s.consumer();
    expect(await until(async () => (await indexed(s.run)).count > 2_000, 30_000, 100)).toBe(true);
    const second = startConsumerInGroup(s);
    // The first member is asked to give partitions up as soon as the second one subscribes.
    expect(await until(() => (second.current?.output() ?? "").includes("kafka consumer subscribed"), 30_000, 20)).toBe(
      true,
    );
    first.signal("SIGTERM");
    await expectExit(first, 0, 1);
    const member = await second.started;
    expect(await until(async () => (await indexed(s.run)).count >= total, 120_000, 500)).toBe(true);
    member.signal("SIGTERM");
    await expectExit(member, 0);
    expect(await indexed(s.run)).toEqual(indexedOnce(total));
  }, 240_000);

  it("with Kafka down: exits within the bound; after Kafka returns the group indexes everything once", async () => {
    const broker = await privateKafka();
    const s = scenario("kdown", broker.address);
    await s.setUp(3);
    await writeLogs(s.writer, s.topic, s.run, 0, 5_000);
    const consumer = await s.consumer();
    expect(await until(async () => (await indexed(s.run)).count >= 5_000, 30_000)).toBe(true);
    broker.stack("stop", "kafka", "--force");
    await sleep(1_000);
    consumer.signal("SIGTERM");
    await expectExit(consumer, 0, 1, "SIGTERM");
    broker.stack("start", "kafka");
    await s.expectNothingCommittedUnindexed();
    await s.expectEverythingIndexedOnce(5_000);
  }, 240_000);
});

/** Starts a consumer in the scenario's group without waiting for it; `current` is set at once. */
function startConsumerInGroup(s: ReturnType<typeof scenario>) {
  const handle: { current?: ConsumerProcess; started: Promise<ConsumerProcess> } = {
    started: Promise.resolve(undefined as never),
  };
  handle.started = (async () => {
    const consumer = await startConsumer({
      BARITO_KAFKA_BROKERS: sharedBroker,
      BARITO_ELASTICSEARCH_URLS: opensearchUrl.origin,
      BARITO_KAFKA_TOPIC_PREFIX: `${s.run}_`,
      BARITO_KAFKA_GROUP_ID: s.groupId,
      BARITO_CONSUMER_DLQ_TOPIC: `${s.run}_dlq`,
      BARITO_NEW_TOPIC_EVENT: `${s.run}_events`,
      BARITO_SHUTDOWN_TIMEOUT: `${shutdownTimeoutS}s`,
    });
    handle.current = consumer;
    processes.push(consumer);
    return consumer;
  })();
  return handle;
}

/** A single Kafka broker of this test's own (scripts/stack in a scratch directory), which it may stop. */
async function privateKafka() {
  const dir = mkdtempSync(join(tmpdir(), "barito-shutdown-kafka-"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    STACK_DIR: dir,
    STACK_KAFKA_PORT: String(port),
    STACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
    STACK_KAFKA_HEAP: "256m",
  };
  const stack = (...args: string[]) => {
    const result = spawnSync(process.execPath, [join(root, "scripts/stack/stack.ts"), ...args], {
      env,
      encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`stack ${args.join(" ")} failed: ${result.stderr}`);
  };
  cleanups.push(async () => {
    stack("down", "--force");
    rmSync(dir, { recursive: true, force: true });
  });
  stack("up", "--only", "kafka");
  return { address: `127.0.0.1:${port}`, stack };
}
