import { type Card, type Cell, type Column, formatNumber, formatSeconds, type Section } from "./view.js";

/** A column of text; its heading is the key unless `label` says otherwise. */
export function textColumn<Key extends string>(key: Key, label: string = key): Column & { key: Key } {
  return { key, label };
}

/** A column of numbers (sorted as numbers, right-aligned); its heading is the key unless `label` says otherwise. */
export function numberColumn<Key extends string>(key: Key, label: string = key): Column & { key: Key } {
  return { key, label, numeric: true };
}

export interface TableSpec<Key extends string> {
  id: string;
  title: string;
  columns: Array<Column & { key: Key }>;
  /** Each row has a cell for every column. */
  rows: Array<Record<Key, Cell>>;
  /** What the table says while it has no rows. */
  empty?: string;
}

/** A table section whose rows are checked, at compile time, to fill every column. */
export function tableSection<Key extends string>({ id, title, columns, rows, empty }: TableSpec<Key>): Section {
  return { kind: "table", id, title, columns, rows, ...(empty === undefined ? {} : { empty }) };
}

/** A card showing a number. */
export function numberCard(label: string, value: number | undefined): Card {
  return { label, value: formatNumber(value) };
}

/** A card showing a duration in seconds. */
export function secondsCard(label: string, seconds: number | undefined): Card {
  return { label, value: formatSeconds(seconds) };
}

/** A card counting something that should not happen (errors, retries): ok at zero, a warning above. */
export function problemCard(label: string, value: number): Card {
  return { label, value: formatNumber(value), tone: value > 0 ? "warn" : "ok" };
}

/** A number for a table cell: two decimals at most, 0 for a rate or share that is not finite. */
export function roundCell(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
}
