// Test support for an app's collector: any Prometheus text a registry could print, and a status source ticking
// over it, for property tests that a page never fails on metric state.
import fc from "fast-check";
import { createStatusSource, type StatusSourceOptions } from "../status-source.js";
import type { StatusDocument } from "../view.js";

/**
 * One to four expositions (one a tick) of up to eight lines each: series of `families` with up to three of `labels`
 * set to any string, and any value, malformed and non-finite ones included.
 */
export function arbitraryExpositions(families: readonly string[], labels: readonly string[]): fc.Arbitrary<string[]> {
  const value = fc.oneof(fc.double().map(String), fc.constantFrom("NaN", "+Inf", "-Inf", "", "x"));
  const label = fc.record({ key: fc.constantFrom(...labels), value: fc.string() });
  const line = fc
    .tuple(fc.constantFrom(...families), fc.array(label, { maxLength: 3 }), value)
    .map(([name, set, v]) => `${name}{${set.map((l) => `${l.key}=${JSON.stringify(l.value)}`).join(",")}} ${v}`);
  return fc.array(
    fc.array(line, { maxLength: 8 }).map((lines) => lines.join("\n")),
    { minLength: 1, maxLength: 4 },
  );
}

/**
 * The document of a status source that ticked once a second over `expositions`, its collector (made by
 * `collectorReading`) reading the current one on each tick.
 */
export async function documentAfterTicks(
  expositions: readonly string[],
  collectorReading: (read: () => Promise<string>) => StatusSourceOptions["collect"],
): Promise<StatusDocument> {
  let tick = 0;
  const source = createStatusSource({
    title: "t",
    clock: () => tick * 1000,
    collect: collectorReading(async () => expositions[tick] ?? ""),
  });
  for (tick = 0; tick < expositions.length; tick++) await source.tick();
  return source.document();
}
