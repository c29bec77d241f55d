// The CI-size chaos run: 20k logs through the built producer and consumer on a PRIVATE stack (own directory and
// free ports, so the default stack the other integration tests use is never stopped), with three faults while
// traffic flows: consumer SIGKILL, OpenSearch stopped 20 s, producer SIGKILL. The oracle's report must hold every
// invariant: each acknowledged log indexed exactly once with its content, nothing else, nothing dead-lettered.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";

const root = join(__dirname, "..", "..");
// Not mkdtemp: its 0700 mode would keep out the unprivileged user OpenSearch runs as when the tests run as root.
const dir = join(tmpdir(), `barito-chaos-it-${randomUUID().slice(0, 8)}`);

let child: ChildProcess | undefined;

afterAll(async () => {
  // A run cut short (test timeout) must not leave its private Kafka/OpenSearch/Redis behind: SIGINT makes the
  // runner stop what it started; `stack down` on the private directory is the safety net (pid files, ours only).
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
  }
  spawnSync(process.execPath, [join(root, "scripts/stack/stack.ts"), "down", "--force"], {
    env: { ...process.env, STACK_DIR: join(dir, "stack") },
    stdio: "ignore",
  });
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  passed: boolean;
  acknowledged: number;
  missing: number;
  duplicated: number;
  corrupted: number;
  deadLettered: number;
  unexpected: { documents: number; refusedButPresent: number };
  faults: { kind: string; liftedAt?: number; notes: string[] }[];
  invariants: { name: string; ok: boolean; detail: string }[];
}

describe("pnpm chaos, CI size (private stack)", () => {
  it("indexes every acknowledged log exactly once through a consumer SIGKILL, an OpenSearch outage and a producer SIGKILL", async () => {
    mkdirSync(dir, { recursive: true });
    const reportFile = join(dir, "report.json");
    child = spawn(
      process.execPath,
      [
        join(root, "scripts/chaos/chaos.ts"),
        "--logs",
        "20000",
        "--faults",
        "consumer-kill,opensearch-stop,producer-kill",
        "--gap",
        "6",
        "--catchup-timeout",
        "120",
        "--stack-dir",
        join(dir, "stack"),
        "--out",
        join(dir, "run"),
        "--report",
        reportFile,
        "--self-check",
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child?.once("exit", resolve));
    if (code !== 0 || !existsSync(reportFile)) {
      // The oracle's own report says what broke; show it (and the progress lines) in the test failure.
      console.error(output.split("\n").slice(-80).join("\n"));
    }
    expect(existsSync(reportFile)).toBe(true);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    expect(report.invariants.filter((i) => !i.ok)).toEqual([]);
    expect(report.acknowledged).toBeGreaterThanOrEqual(20_000);
    expect(report.missing).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.corrupted).toBe(0);
    expect(report.deadLettered).toBe(0);
    expect(report.unexpected.documents).toBe(0);
    expect(report.faults.map((f) => f.kind)).toEqual(["consumer-kill", "opensearch-stop", "producer-kill"]);
    expect(report.faults.every((f) => f.liftedAt !== undefined)).toBe(true);
    // The oracle proved it can see a missing, a duplicated, a corrupted and an unknown document.
    expect(report.invariants.find((i) => i.name === "the oracle detects planted faults")?.ok).toBe(true);
    expect(report.passed).toBe(true);
    expect(code).toBe(0);
  }, 420_000);
});
