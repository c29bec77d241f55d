// `pnpm test`: one Jest run over every package and app (unit + integration projects), then the plain
// "N passed, N failed" line that CI reads (it does not parse Jest's own summary).
// Extra arguments go to Jest, e.g. `pnpm test --selectProjects unit` or `pnpm test packages/kafka`.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = join(root, ".ci", "results");
const resultsFile = join(resultsDir, "jest.json");
mkdirSync(resultsDir, { recursive: true });
rmSync(resultsFile, { force: true });

const jest = join(root, "node_modules", ".bin", "jest");
// No --forceExit: a test that leaves a handle open (a server, a timer, a native Kafka client) keeps Jest up, and
// that is a finding, not something to cut silently. Jest writes its results before it waits for the handles; if it
// is still up `exitGraceMs` later, the handles are named here (rerun the file with --detectOpenHandles) and Jest is
// stopped, so a native thread that never ends cannot hang CI either. A Kafka client's connection attempt ends
// within its connectTimeoutMs (10 s by default): the grace is above that.
const exitGraceMs = Number(process.env.BARITO_TEST_EXIT_GRACE_MS ?? 15_000);
const child = spawn(jest, ["--json", `--outputFile=${resultsFile}`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
let cutAfterResults = false;
const status = await new Promise<number | null>((resolve) => {
  let resultsSeenAt: number | undefined;
  const watch = setInterval(() => {
    if (resultsSeenAt === undefined) {
      if (existsSync(resultsFile)) resultsSeenAt = Date.now();
      return;
    }
    if (Date.now() - resultsSeenAt < exitGraceMs) return;
    cutAfterResults = true;
    console.log(
      `\n[test] Jest is still running ${exitGraceMs / 1000} s after writing its results: a test left handles open ` +
        "(find them with: node_modules/.bin/jest <file> --detectOpenHandles). Stopping it.",
    );
    child.kill("SIGKILL");
  }, 500);
  child.on("exit", (code) => {
    clearInterval(watch);
    resolve(code);
  });
});
const run = { status };

interface JestSummary {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numRuntimeErrorTestSuites: number;
  testResults?: Array<{
    name: string;
    message?: string;
    assertionResults?: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
}

/**
 * One short block per failure, just above the summary line: a long log is often kept only at its start and end, and
 * the reasons must survive that.
 */
function printFailures(summary: JestSummary): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is being removed.
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "");
  const reason = (text: string) =>
    plain(text)
      .split("\n")
      .map((line) => line.trimEnd())
      .filter((line) => line.trim() && !/^\s+at /.test(line))
      .slice(0, 6)
      .map((line) => `    ${line.slice(0, 400)}`)
      .join("\n");
  const blocks: string[] = [];
  for (const suite of summary.testResults ?? []) {
    const file = relative(root, suite.name);
    const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === "failed");
    for (const test of failedTests)
      blocks.push(`  ${file} › ${test.fullName}\n${reason(test.failureMessages?.[0] ?? "")}`);
    if (failedTests.length === 0 && suite.message) blocks.push(`  ${file} (suite failed)\n${reason(suite.message)}`);
  }
  if (blocks.length > 0) console.log(`\nFailures (${blocks.length}):\n${blocks.join("\n")}\n`);
}

let summary: JestSummary | undefined;
try {
  summary = JSON.parse(readFileSync(resultsFile, "utf8")) as JestSummary;
} catch {
  // Jest died before writing results (e.g. a broken globalSetup): count that as one failure, not as success.
}

const passed = summary?.numPassedTests ?? 0;
// A suite that cannot even load (syntax error, missing module) has no failed tests of its own; count it.
const failed = summary ? summary.numFailedTests + summary.numRuntimeErrorTestSuites : 1;
const skipped = summary?.numPendingTests ?? 0;
if (summary) printFailures(summary);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
// Stopped after its results: the results decide (the open handles were reported above).
process.exit((run.status === 0 || cutAfterResults) && failed === 0 ? 0 : 1);
