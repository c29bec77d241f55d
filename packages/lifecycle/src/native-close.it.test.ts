// The hazard this package exists for, on a real broker: a second SIGTERM arrives while librdkafka's consumer close
// waits for a revoke that the JavaScript thread is still handling. `process.exit` then never returns (it joins the
// threadpool thread that runs the close, which waits for the exiting JavaScript thread); the lifecycle's forced end
// ends the process at once.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const topic = `lifecycle${randomUUID().slice(0, 8)}`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: "lifecycle-test" });
const children: ChildProcess[] = [];

beforeAll(async () => {
  await admin.connect();
  await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await admin.deleteTopics([topic]).catch(() => undefined);
  await admin.close();
});

async function slowRevokeConsumer(mode: "lifecycle" | "process-exit") {
  const child = spawn(process.execPath, [join(__dirname, "..", "fixtures", "slow-revoke.mjs"), mode, brokers, topic], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(String(code ?? signal))),
  );
  const deadline = Date.now() + 30_000;
  while (!output.includes("ready") && Date.now() < deadline && child.exitCode === null) await sleep(50);
  expect(output).toContain("ready");
  // The first signal starts the close; the second arrives while the revoke handler still runs.
  child.kill("SIGTERM");
  await sleep(500);
  child.kill("SIGTERM");
  return { child, outcome: (ms: number) => Promise.race([exited, sleep(ms, "still running", { ref: false })]) };
}

describe("a second signal during a native consumer close (real Kafka)", () => {
  it("with process.exit, the process never ends", async () => {
    const { outcome } = await slowRevokeConsumer("process-exit");
    // Its revoke handler would have finished after 3 s; the exit keeps the JavaScript thread from ever running it.
    expect(await outcome(6_000)).toBe("still running");
  }, 60_000);

  it("with installShutdown, the process ends at once by the signal's default action", async () => {
    const started = Date.now();
    const { outcome } = await slowRevokeConsumer("lifecycle");
    expect(await outcome(6_000)).toBe("SIGTERM");
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 60_000);
});
