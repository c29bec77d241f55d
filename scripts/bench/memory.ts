// `pnpm bench memory`: peak RSS of the built apps by phase of load, against the local stack. Each app has its own
// section (a function returning one row per phase); `printTable` lays the sections out, one column per build, so a
// baseline build (BENCH_MEMORY_BASELINE=<another checkout, built>) reads side by side with this one.
//
// Peak RSS per phase comes from the kernel: /proc/<pid>/clear_refs "5" resets VmHWM to the current RSS at the start of
// a phase and VmHWM is read at its end, so a spike between two samples is not missed. Without clear_refs (not root, old
// kernel) a 20 ms VmRSS sampler is the fallback.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { consumerMemory } from "./memory-consumer.ts";
import { producerMemory } from "./memory-producer.ts";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";

/** One phase of one build: its peak RSS and what the load got back. */
export interface PhaseResult {
  phase: string;
  peakRssMb: number;
  /** RSS at the end of the phase. */
  endRssMb: number;
  seconds?: number;
  ok?: number;
  /** Answers 503 with the producer's in-flight cap code (or any other refusal the section counts). */
  refused?: number;
  failed?: number;
  logsPerSecond?: number;
  /** How the process ended when it died during the phase (e.g. V8's heap limit reached). */
  died?: string;
}

/** One column of the table: a build of an app and its phases. */
export interface Section {
  app: string;
  build: string;
  phases: PhaseResult[];
}

export function step(message: string): void {
  console.log(`[bench memory] ${message}`);
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : 0;
}

/** Peak RSS of `pid` while `run` runs. */
export async function measurePeak<T>(
  pid: number,
  run: () => Promise<T>,
): Promise<{ peakKb: number; endKb: number; value: T }> {
  let hwm = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    hwm = false;
  }
  let sampled = statusKb(pid, "VmRSS");
  const sampler = setInterval(() => {
    try {
      sampled = Math.max(sampled, statusKb(pid, "VmRSS"));
    } catch {
      // the process is gone; the caller sees that
    }
  }, 20);
  try {
    const value = await run();
    // A process that died during the phase has only its sampled peak left.
    const read = (field: "VmRSS" | "VmHWM") => {
      try {
        return statusKb(pid, field);
      } catch {
        return 0;
      }
    };
    const endKb = read("VmRSS");
    return { peakKb: Math.max(hwm ? read("VmHWM") : 0, sampled, endKb), endKb, value };
  } finally {
    clearInterval(sampler);
  }
}

export const mb = (kb: number) => Math.round(kb / 1024);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The table: one row per phase, one column group per section (peak RSS, and the answers when there was load). */
export function printTable(sections: readonly Section[]): void {
  const apps = [...new Set(sections.map((s) => s.app))];
  for (const app of apps) {
    const columns = sections.filter((s) => s.app === app);
    const phases = [...new Set(columns.flatMap((c) => c.phases.map((p) => p.phase)))];
    console.log(`\n${app}: peak RSS by phase (MB; ok / refused / failed answers; logs/s)\n`);
    console.log(`| phase | ${columns.map((c) => `${c.build} peak | ${c.build} answers`).join(" | ")} |`);
    console.log(`| --- | ${columns.map(() => "---: | ---:").join(" | ")} |`);
    for (const phase of phases) {
      const cells = columns.map((c) => {
        const p = c.phases.find((x) => x.phase === phase);
        if (!p) return " | ";
        const answers = p.died
          ? `died (${p.died})`
          : p.ok === undefined
            ? `end ${p.endRssMb}`
            : `${p.ok} / ${p.refused ?? 0} / ${p.failed ?? 0}; ${Math.round(p.logsPerSecond ?? 0)}/s`;
        return `${p.peakRssMb} | ${answers}`;
      });
      console.log(`| ${phase} | ${cells.join(" | ")} |`);
    }
  }
}

// ------------------------------------------------------------------------------------------------------ entry

/** "NAME=value,NAME=value" as an environment. */
function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(",")
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

/** One section per app: the function starts that app from `tree` with `env` and measures its phases. */
type AppSection = (tree: string, build: string, env: Record<string, string>) => Promise<Section>;
const sectionsByApp: Record<string, AppSection> = { producer: producerMemory, consumer: consumerMemory };

/**
 * Runs each app's section (BENCH_MEMORY_APPS, default all) for the baseline tree, if any, and for each variant of
 * this tree, then prints the table. Builds this tree's apps unless BENCH_SKIP_BUILD=1; a baseline must be built.
 */
export async function benchMemory(): Promise<void> {
  const apps = (process.env.BENCH_MEMORY_APPS ?? Object.keys(sectionsByApp).join(",")).split(",");
  for (const app of apps) if (!sectionsByApp[app]) throw new Error(`no memory section for '${app}'`);
  if (process.env.BENCH_SKIP_BUILD !== "1") {
    step(`building ${apps.join(", ")}`);
    const filters = apps.map((app) => `--filter=${app}...`);
    execFileSync("pnpm", ["turbo", "run", "build", ...filters, "--output-logs=errors-only"], {
      cwd: root,
      stdio: "inherit",
    });
  }
  const baseline = process.env.BENCH_MEMORY_BASELINE;
  // BENCH_MEMORY_BASELINE_ENV: extra environment for the baseline's apps (same format as one variant below).
  const baselineEnv = parseEnv(process.env.BENCH_MEMORY_BASELINE_ENV ?? "");
  // BENCH_MEMORY_ENV="NAME=value,...": extra environment for this tree's apps (e.g. another cap or NODE_OPTIONS);
  // several variants separated by ";" give one column each, a variant may start with "label:" to name its column.
  // Values may not contain "," or ";".
  const variants = (process.env.BENCH_MEMORY_ENV ?? "").split(";").map((entry) => {
    const named = /^([^=:]+):(.*)$/.exec(entry);
    const variant = named ? (named[2] as string) : entry;
    const label = named ? (named[1] as string) : variant === "" ? "this tree" : `this tree, ${variant}`;
    return { label, env: parseEnv(variant) };
  });
  const sections: Section[] = [];
  for (const app of apps) {
    const measure = sectionsByApp[app] as AppSection;
    // Baseline first, then this tree: the Kafka they share starts each section in the same state.
    if (baseline) sections.push(await measure(resolve(baseline), "baseline", baselineEnv));
    for (const { label, env } of variants) sections.push(await measure(root, label, env));
  }
  console.log(
    `\nmachine: ${availableParallelism()} CPUs, ${mb(totalmem() / 1024)} MB; Node ${process.versions.node}; Kafka ${brokers}`,
  );
  printTable(sections);
}
