// The producer process with TLS from its environment (dist/main.js; build it first), with worker processes: the
// primary serves the operator port over HTTPS, the workers the REST port; SIGHUP rotates both; a key that is not
// the certificate's stops the start with a message naming the variable.
import { type ChildProcess, execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createTestPki, type IssuedCert } from "@barito-flow/tls/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { isRunning, producerListeners, spawnBuiltApp } from "./testing/processes.js";
import { until } from "./testing/requests.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 8);
const pki = createTestPki();
const ca = pki.ca("ca");
const dir = join(pki.dir, "mounted");
mkdirSync(dir);
const files = { certPath: join(dir, "tls.crt"), keyPath: join(dir, "tls.key") };
const install = (from: IssuedCert) => {
  copyFileSync(from.keyPath, files.keyPath);
  copyFileSync(from.certPath, files.certPath);
};
install(ca.server("first"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (isRunning(child)) child.kill("SIGKILL");
  pki.remove();
});

function curl(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "-v", "--max-time", "5", "--cacert", ca.certPath, url], (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function start(env: Record<string, string>) {
  const listeners = await producerListeners();
  const producer = spawnBuiltApp("producer", {
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_NEW_TOPIC_EVENT: `it${run}_new_topic_events`,
    ...listeners.env,
    ...env,
  });
  children.push(producer.child);
  return { ...producer, rest: listeners.ports.rest, metrics: listeners.ports.metrics };
}

async function within(condition: () => Promise<boolean> | boolean, ms: number, what: () => string) {
  if (!(await until(condition, ms))) throw new Error(`not in time:\n${what()}`);
}

describe("the producer process with TLS (real Kafka)", () => {
  it("serves HTTPS from its workers and its primary, and rotates both on SIGHUP", async () => {
    const producer = await start({
      BARITO_PRODUCER_WORKERS: "2",
      BARITO_PRODUCER_TLS_CERT: files.certPath,
      BARITO_PRODUCER_TLS_KEY: files.keyPath,
      BARITO_EXPORTER_TLS_CERT: files.certPath,
      BARITO_EXPORTER_TLS_KEY: files.keyPath,
    });
    const ready = async () =>
      (await curl(`https://localhost:${producer.metrics}/readyz`)).stdout.includes('"status":"ready"');
    await within(ready, 30_000, producer.output);
    const rest = await curl(`https://localhost:${producer.rest}/healthz`);
    expect(rest).toMatchObject({ code: 0, stderr: expect.stringMatching(/subject: CN=first/) });

    install(ca.server("second"));
    producer.child.kill("SIGHUP");
    const serves = async (port: number) =>
      /subject: CN=second/.test((await curl(`https://localhost:${port}/healthz`)).stderr);
    // Both workers: the kernel spreads connections over them, so several new connections must all see it.
    await within(
      async () => (await Promise.all([1, 2, 3, 4].map(() => serves(producer.rest)))).every(Boolean),
      10_000,
      producer.output,
    );
    await within(() => serves(producer.metrics), 10_000, producer.output);
    expect(producer.output().match(/TLS certificate reloaded/g)?.length).toBe(3);
    expect(producer.output()).not.toContain("listening without TLS");

    producer.child.kill("SIGTERM");
    expect((await producer.exited).code).toBe(0);
  }, 60_000);

  it("does not start with a key that is not the certificate's, and names the variable", async () => {
    const other = ca.server("other");
    const producer = await start({ BARITO_PRODUCER_TLS_CERT: files.certPath, BARITO_PRODUCER_TLS_KEY: other.keyPath });
    expect((await producer.exited).code).toBe(2);
    expect(producer.output()).toMatch(/BARITO_PRODUCER_TLS_KEY: .* is not the private key of the certificate/);
  });
});
