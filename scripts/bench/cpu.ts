// CPU time from /proc: what the producer spends per log and the consumer per document, by process and by thread.
import { readFileSync } from "node:fs";
import type { Result } from "./drivers.ts";

/** Name and user + system CPU seconds so far of a process (or `pid/task/tid`: one thread); Linux /proc only. */
export function procStat(pid: number | string | undefined): { name: string; cpuSeconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, // utime, stime in clock ticks (USER_HZ = 100)
    };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process (or one thread) so far (0 where /proc cannot tell). */
export function cpuSeconds(pid: number | string | undefined): number {
  return procStat(pid)?.cpuSeconds ?? 0;
}

/** CPU µs per document, by name, between two readings of CPU seconds by name. */
export function microsPerDoc(after: Record<string, number>, before: Record<string, number>, docs: number) {
  return Object.fromEntries(
    Object.entries(after).map(([name, spent]) => [
      name,
      Number((((spent - (before[name] ?? 0)) / docs) * 1e6).toFixed(1)),
    ]),
  );
}

export function describeMicros(micros: Record<string, number>): string {
  return Object.entries(micros)
    .map(([name, spent]) => `${name} ${spent}`)
    .join(", ");
}

/**
 * Runs a scenario and adds the producer's CPU cost per log: on a shared 2-core machine the rate depends on what else
 * runs, the CPU spent per log much less, so it is the figure to compare between versions.
 */
export async function withCpu(pid: number | undefined, run: () => Result | Promise<Result>): Promise<Result> {
  // With BARITO_PRODUCER_WORKERS > 1 the work is in the primary's children: count every process and main thread.
  const processes = () => {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
      return [String(pid), ...children];
    } catch {
      return [String(pid)];
    }
  };
  const total = (of: (p: string) => number | string) => processes().reduce((sum, p) => sum + cpuSeconds(of(p)), 0);
  const before = total((p) => p);
  const mainBefore = total((p) => `${p}/task/${p}`);
  const result = await run();
  const spent = total((p) => p) - before;
  const mainSpent = total((p) => `${p}/task/${p}`) - mainBefore;
  if (spent > 0 && result.logs > 0) {
    result.producerCpuMsPer1kLogs = (spent * 1000 * 1000) / result.logs;
    result.producerMainThreadMsPer1kLogs = (mainSpent * 1000 * 1000) / result.logs;
  }
  return result;
}
