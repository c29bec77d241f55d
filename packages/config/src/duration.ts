const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const component = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const bareNumber = /^(\d+(?:\.\d*)?|\.\d+)$/;

export type DurationUnit = "ms" | "s";

/**
 * Parses a Go-style duration (`"30s"`, `"500ms"`, `"1m30s"`, `"1.5h"`) or a bare number in `bareUnit`, returning
 * milliseconds, or undefined when the text is not a non-negative duration.
 */
export function parseDuration(text: string, bareUnit: DurationUnit): number | undefined {
  const trimmed = text.trim();
  if (bareNumber.test(trimmed)) return Number(trimmed) * (bareUnit === "s" ? 1_000 : 1);
  if (trimmed === "") return undefined;
  let total = 0;
  component.lastIndex = 0;
  while (component.lastIndex < trimmed.length) {
    const start = component.lastIndex;
    const match = component.exec(trimmed);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * (unitMs[match[2] as string] as number);
  }
  return Number.isFinite(total) ? total : undefined;
}

/** `90000` -> `"1m30s"`; used in docs and error messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1_000 || !Number.isInteger(ms / 1_000)) return `${ms}ms`;
  let seconds = ms / 1_000;
  const hours = Math.floor(seconds / 3_600);
  seconds -= hours * 3_600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours ? `${hours}h` : ""}${minutes ? `${minutes}m` : ""}${seconds ? `${seconds}s` : ""}`;
}
