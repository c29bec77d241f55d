// installShutdown in real Node processes whose libuv threadpool is busy (pbkdf2 stands in for a native Kafka close
// there): the forced end does not wait for the pool, as a process and as PID 1 of a PID namespace.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";

const shutdownModule = join(__dirname, "shutdown.ts");

// Keeps one threadpool thread busy for many seconds, starts a shutdown whose stop never returns, then sends the
// second signal.
const script = `
  import { pbkdf2 } from "node:crypto";
  import { installShutdown } from ${JSON.stringify(shutdownModule)};
  pbkdf2("secret", "salt", 50_000_000, 64, "sha512", () => {});
  installShutdown({ timeoutMs: 60_000, stop: () => new Promise(() => {}) });
  setTimeout(() => process.kill(process.pid, "SIGTERM"), 100);
  setTimeout(() => process.kill(process.pid, "SIGTERM"), 200);
  setInterval(() => {}, 1_000);
`;

function run(prefix: string[]) {
  const started = Date.now();
  const [command, ...args] = [
    ...prefix,
    process.execPath,
    "--experimental-strip-types",
    "--input-type=module",
    "-e",
    script,
  ];
  const result = spawnSync(command as string, args, { encoding: "utf8", timeout: 30_000 });
  return { status: result.status, signal: result.signal, stderr: result.stderr, ms: Date.now() - started };
}

describe("the forced end with a busy threadpool", () => {
  it("ends the process at once, by the signal", () => {
    const result = run([]);
    expect(result.signal).toBe("SIGTERM");
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stderr).toContain('"reason":"second signal (SIGTERM)"');
  });

  const unshare = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"]).status === 0;
  (unshare ? it : it.skip)("ends PID 1 of a PID namespace, which cannot signal itself", () => {
    const result = run(["unshare", "--pid", "--fork", "--mount-proc"]);
    expect(result.status ?? result.signal).not.toBe(0);
    expect(result.ms).toBeLessThan(10_000);
  });
});
