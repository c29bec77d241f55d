// The built producer as a child process, for the consumer's tests that run both apps.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./harness.js";
import { repoRoot, spawnCaptured } from "./process.js";
import { until } from "./wait.js";

export interface ProducerProcess {
  rest: string;
  metrics: string;
  stop(): Promise<void>;
  output(): string;
}

/** Starts `apps/producer/dist/main.js` on free ports and resolves once it is ready (build the producer first). */
export async function startProducer(env: Record<string, string>): Promise<ProducerProcess> {
  const [rest, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  const main = join(repoRoot, "apps/producer/dist/main.js");
  const ports = {
    BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
    BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
    EXPORTER_PORT: `127.0.0.1:${metrics}`,
  };
  const { child, exit, output } = spawnCaptured(process.execPath, [main, "producer"], {
    env: { LOG_FORMAT: "json", LOG_LEVEL: "info", ...ports, ...env },
  });
  const ready = await until(
    () =>
      fetch(`http://127.0.0.1:${metrics}/readyz`).then(
        (res) => res.ok,
        () => false,
      ),
    30_000,
  );
  if (!ready) {
    child.kill("SIGKILL");
    throw new Error(`producer not ready within 30 s:\n${output()}`);
  }
  return {
    rest: `http://127.0.0.1:${rest}`,
    metrics: `http://127.0.0.1:${metrics}`,
    output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exit, sleep(15_000, undefined, { ref: false })]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
