// The consumer's operator port over HTTPS (BARITO_EXPORTER_TLS_*), from the process (dist/main.js; build it first).
import { execFile } from "node:child_process";
import { createTestPki } from "@barito-flow/tls/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { type ConsumerProcess, startConsumer, until } from "./testing/harness.js";

const pki = createTestPki();
const ca = pki.ca("ca");
const server = ca.server("consumer");
let consumer: ConsumerProcess | undefined;
afterAll(() => {
  consumer?.kill();
  pki.remove();
});

const curl = (url: string) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile("curl", ["-sS", "--max-time", "5", "--cacert", ca.certPath, url], (err, stdout) =>
      resolve({ code: err ? 1 : 0, stdout }),
    );
  });

describe("the consumer's operator port with TLS", () => {
  it("answers /healthz and /metrics over HTTPS only", async () => {
    consumer = await startConsumer({
      BARITO_EXPORTER_TLS_CERT: server.certPath,
      BARITO_EXPORTER_TLS_KEY: server.keyPath,
    });
    const port = consumer.metricsPort;
    await until(async () => (await curl(`https://localhost:${port}/healthz`)).code === 0, 20_000);
    expect((await curl(`https://localhost:${port}/healthz`)).stdout).toContain('"status"');
    expect((await curl(`https://localhost:${port}/metrics`)).stdout).toContain("# HELP");
    expect(await consumer.ready()).toBe(false); // the harness's cleartext probe gets no answer from an HTTPS port
    consumer.signal("SIGTERM");
    expect((await consumer.exited(40_000))?.code).not.toBeNull();
  }, 60_000);
});
