// The run's clock and its progress lines: every line says how many seconds into the run it was written.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let t0 = Date.now();

/** Starts the run's clock (the report's times are seconds since then). */
export function startClock(): number {
  t0 = Date.now();
  return t0;
}

/** Seconds since the run started, to a tenth. */
export const since = (at: number = Date.now()): number => Math.round((at - t0) / 100) / 10;
export const say = (line: string): void => console.log(`[chaos] ${String(since().toFixed(1)).padStart(6)}s ${line}`);
export const fmt = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n)));
