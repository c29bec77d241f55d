// What every `pnpm bench` scenario shares: where the repo is, how long and how wide a scenario runs, the Kafka it
// targets, the run's unique suffix, the local stack, and building the app under test.
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const seconds = Number(process.env.BENCH_SECONDS ?? 10);
// 32 requests in flight: with 16, each waiting for linger.ms (5) plus the broker's acknowledgement (p50 ~8 ms), the
// rate was bound by latency (16 × 100 logs / 8 ms ≈ 200k logs/s) rather than by the producer, while kcat keeps
// unlimited records in flight.
export const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
export const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
export const run = randomUUID().slice(0, 6);

export function step(message: string): void {
  console.log(`[bench] ${message}`);
}

/** Builds the app and what it depends on, unless BENCH_SKIP_BUILD=1 (to compare builds side by side). */
export function build(app: "producer" | "consumer"): void {
  if (process.env.BENCH_SKIP_BUILD === "1") return;
  step(`building the ${app}`);
  execFileSync("pnpm", ["turbo", "run", "build", `--filter=${app}...`, "--output-logs=errors-only"], {
    cwd: root,
    stdio: "inherit",
  });
}

/** Brings up the local stack's `components` (comma-separated) unless they run; ends the bench if that fails. */
export function ensureStack(components: string): void {
  step("making sure the local stack runs");
  const up = spawnSync(process.execPath, ["scripts/stack/stack.ts", "up", "--only", components], {
    cwd: root,
    stdio: "inherit",
  });
  if (up.status !== 0) process.exit(1);
}
