// The built images against the running local stack, one test per check of scripts/images/checks.ts (the same
// checks as `pnpm images test`). Needs a container engine: one that answers is used, otherwise dockerd is started
// for this file and stopped again. Images missing from the engine are built first (base image included).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { buildImages, missingImages } from "./build.ts";
import { CHECK_NAMES, type CheckResult, printSummary, runImageChecks } from "./checks.ts";
import { type Engine, ensureEngine } from "./engine.ts";

const lines: string[] = [];
const log = (line: string): void => {
  lines.push(line);
};
let engine: Engine | undefined;
let results: CheckResult[] = [];
let setupError: Error | undefined;

beforeAll(async () => {
  try {
    engine = await ensureEngine(log);
    if (missingImages().length > 0) await buildImages(log);
    results = await runImageChecks(log);
  } catch (error) {
    setupError = error as Error;
  } finally {
    printSummary(results, log);
    console.log(lines.join("\n"));
  }
}, 1_200_000);

afterAll(async () => {
  await engine?.stop();
}, 120_000);

describe("the producer and consumer images on the local stack", () => {
  it.each(CHECK_NAMES.map((name) => [name]))("%s", (name) => {
    if (setupError) throw setupError;
    const result = results.find((r) => r.name === name);
    expect(result?.detail).toBeDefined();
    if (!result?.ok) throw new Error(`${name}: ${result?.detail ?? "not run"}`);
  });
});
