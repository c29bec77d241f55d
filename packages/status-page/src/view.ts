import type { Sample } from "./sample-ring.js";

/** A line chart over the ring: one line per series name (a key of `Sample.v`). */
export interface ChartSpec {
  id: string;
  title: string;
  /** Shown on the y axis, e.g. "/s" or "records". */
  unit: string;
  /** The main lines (drawn solid). */
  series: string[];
  /** Lines that break a main line down, e.g. per app (drawn thin and dashed, so a total over one app stays visible). */
  detail?: string[];
}

export type Tone = "ok" | "warn" | "bad";

export interface Card {
  label: string;
  value: string;
  tone?: Tone;
}

export interface Column {
  key: string;
  label: string;
  /** Sorted as numbers, right-aligned. */
  numeric?: boolean;
}

export type Cell = string | number | null;

export type Section =
  | { kind: "cards"; id: string; title: string; cards: Card[] }
  | {
      kind: "table";
      id: string;
      title: string;
      columns: Column[];
      rows: Array<Record<string, Cell>>;
      /** Rows left out by the row cap (`maxRowsPerTable`). */
      omitted?: number;
      /** What an empty table says instead of rows. */
      empty?: string;
    };

/** What an app's collector builds on each tick besides the sampled values. */
export interface StatusView {
  charts: ChartSpec[];
  sections: Section[];
}

/** The body of `/status.json`: the latest view plus the samples (all of them, or those after `since`). */
export interface StatusDocument extends StatusView {
  title: string;
  /** Unix ms of the latest tick (0 before the first). */
  generatedAt: number;
  intervalMs: number;
  windowMs: number;
  samples: Sample[];
  /** Why the latest tick could not collect (the view is then the last good one). */
  error?: string;
}

/** The `n` entries of `values` with the largest values (ties by name), for charts and tables with many labels. */
export function topEntries(values: ReadonlyMap<string, number>, n: number): Array<[string, number]> {
  return [...values]
    .filter(([, value]) => Number.isFinite(value))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, n));
}

/** A number for a table cell or card: integers as they are, others with up to `digits` decimals. */
export function formatNumber(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(digits)));
}

/** Seconds as a short duration ("3.2 ms", "1.5 s"); "–" when unknown. */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds < 1) return `${formatNumber(seconds * 1000, 1)} ms`;
  return `${formatNumber(seconds, 2)} s`;
}
