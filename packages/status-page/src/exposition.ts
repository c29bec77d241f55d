/** One line of the Prometheus text exposition: a series (name and labels) and its value. */
export interface MetricSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * A `keep` for `parseExposition`: the series of these metric families, a histogram's or summary's `_bucket`, `_sum`
 * and `_count` included.
 */
export function inFamilies(families: readonly string[]): (name: string) => boolean {
  return (name) => families.some((family) => name.startsWith(family));
}

const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/y;

/**
 * Parses the text format `/metrics` serves (the output of prom-client's `registry.metrics()`, of a cluster's
 * aggregated registry too), keeping only the series whose name `keep` accepts. Reading the exposition rather than
 * the registry's objects is what lets a status page sample exactly what `/metrics` shows, wherever it comes from.
 * Malformed lines are skipped: the page must never fail on what a registry prints.
 */
export function parseExposition(text: string, keep: (name: string) => boolean = () => true): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    const nameEnd = brace !== -1 && (space === -1 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!keep(name)) continue;
    const labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) {
      const end = parseLabels(rest, labels);
      if (end === -1) continue;
      rest = rest.slice(end);
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? "");
    if (value === undefined) continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Fills `into` from `{a="x",b="y"}` at the start of `text`; returns the index after `}`, or -1 when malformed. */
function parseLabels(text: string, into: Record<string, string>): number {
  let at = 1;
  while (at < text.length) {
    if (text[at] === "}") return at + 1;
    if (text[at] === "," || text[at] === " ") {
      at++;
      continue;
    }
    labelPattern.lastIndex = at;
    const match = labelPattern.exec(text);
    if (!match) return -1;
    into[match[1] as string] = unescapeLabel(match[2] as string);
    at = labelPattern.lastIndex;
  }
  return -1;
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, char: string) => (char === "n" ? "\n" : char));
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (text === "" || !/^[-+0-9.eE]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * The sum of `name`'s series grouped by the values of `by` (joined with " / "; "" when `by` is empty), for the
 * series `where` accepts. Missing labels count as "".
 */
export function sumBy(
  samples: readonly MetricSample[],
  name: string,
  by: readonly string[],
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name || !where(sample.labels)) continue;
    if (!Number.isFinite(sample.value)) continue;
    const key = by.map((label) => sample.labels[label] ?? "").join(" / ");
    sums.set(key, (sums.get(key) ?? 0) + sample.value);
  }
  return sums;
}

/** The sum of every finite series of `name` that `where` accepts (0 when there is none). */
export function total(
  samples: readonly MetricSample[],
  name: string,
  where?: (labels: Readonly<Record<string, string>>) => boolean,
): number {
  return sumBy(samples, name, [], where).get("") ?? 0;
}

/** The sum of the values of `values`, e.g. of a `sumBy` over all its groups. */
export function sumValues(values: ReadonlyMap<string, number>): number {
  let all = 0;
  for (const value of values.values()) all += value;
  return all;
}
