// The docker-compose pipeline (docker-compose.yml + docker-compose.local.yml under Debian's docker-compose), one
// test per check of `pnpm images compose check`: its own project name and ports, torn down with `down -v`.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { COMPOSE_CHECK_NAMES, type ComposeResult, composeCheck, printComposeSummary } from "./compose.ts";
import { type Engine, ensureEngine } from "./engine.ts";

const lines: string[] = [];
const log = (line: string): void => {
  lines.push(line);
};
let engine: Engine | undefined;
let result: ComposeResult | undefined;
let setupError: Error | undefined;

beforeAll(async () => {
  try {
    engine = await ensureEngine(log);
    result = await composeCheck(log);
    printComposeSummary(result, log);
  } catch (error) {
    setupError = error as Error;
  } finally {
    console.log(lines.join("\n"));
  }
}, 1_500_000);

afterAll(async () => {
  await engine?.stop();
}, 120_000);

describe("docker-compose with locally built images", () => {
  it.each(COMPOSE_CHECK_NAMES.map((name) => [name]))("%s", (name) => {
    if (setupError) throw setupError;
    const check = result?.checks.find((c) => c.name === name);
    expect(check?.detail).toBeDefined();
    if (!check?.ok) throw new Error(`${name}: ${check?.detail ?? "not run"}`);
  });
});
