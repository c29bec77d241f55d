// The docker-less image check: the same pnpm/turbo steps as apps/*/Dockerfile (build, `pnpm deploy --prod`),
// then the deployed bundle alone is started against the local stack, must become ready, and must stop cleanly
// on SIGTERM. Images cannot be built on the project machines; this proves what goes into them.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";

const root = join(__dirname, "..");
const scratch = mkdtempSync(join(tmpdir(), "barito-bundle-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < until && child.exitCode === null) {
    status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return status;
}

describe.each([
  [
    "producer",
    (ports: number[]) => ({
      BARITO_PRODUCER_REST: `127.0.0.1:${ports[0]}`,
      BARITO_PRODUCER_GRPC: `127.0.0.1:${ports[1]}`,
      EXPORTER_PORT: `127.0.0.1:${ports[2]}`,
    }),
  ],
  [
    "consumer",
    (ports: number[]) => ({
      EXPORTER_PORT: `127.0.0.1:${ports[2]}`,
      BARITO_KAFKA_GROUP_ID: `bundle-check-${ports[2]}`,
      BARITO_KAFKA_TOPIC_PREFIX: "bundle-check-none-",
    }),
  ],
] as const)("the %s bundle", (app, envFor) => {
  it("deploys with pnpm deploy --prod, validates its config, becomes ready on the local stack and drains on SIGTERM", async () => {
    const out = join(scratch, app);
    execFileSync("pnpm", ["turbo", "run", "build", `--filter=${app}...`, "--output-logs=errors-only"], {
      cwd: root,
      stdio: "pipe",
    });
    execFileSync("pnpm", [`--filter=${app}`, "--prod", "deploy", out], { cwd: root, stdio: "pipe" });
    const main = join(out, "dist", "main.js");
    // As in the image: `barito-flow <command>` through a symlink to the executable entry point (here the alias).
    chmodSync(main, 0o755);
    const bin = join(scratch, `${app}-bin`);
    mkdirSync(bin, { recursive: true });
    symlinkSync(main, join(bin, "barito-flow"));
    execFileSync(join(bin, "barito-flow"), [app === "producer" ? "p" : "c", "--check-config"], {
      cwd: out,
      stdio: "pipe",
      env: { ...process.env, LOG_LEVEL: "error", PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` },
    });

    const ports = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, [main, app], {
      cwd: out,
      env: {
        ...process.env,
        NODE_ENV: "production",
        LOG_LEVEL: "warn",
        BARITO_KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
        ...envFor(ports),
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = exitOf(child);
    try {
      expect(await waitReady(`http://127.0.0.1:${ports[2]}/readyz`, child, 30_000)).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
