// Jest globalSetup: brings the local stack up when integration tests are about to run and it is not running yet,
// and records what this run started so stack-teardown.cjs stops exactly that (a stack someone else started,
// or left running on purpose, is never touched). Unit-only runs skip all of this.
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { markerFile, otherLiveRuns, registerRun, repoRoot, stackScript } = require("./stack-paths.cjs");

/** Values of a yargs-style array option: `--opt a b`, `--opt=a`, repeated. */
function optionValues(argv, name) {
  const values = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith(`--${name}=`)) values.push(...arg.slice(name.length + 3).split(","));
    else if (arg === `--${name}`) {
      while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) values.push(argv[++i]);
    }
  }
  return values;
}

function integrationTestFiles(dir, found = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) integrationTestFiles(path, found);
    else if (entry.name.endsWith(".it.test.ts")) found.push(path);
  }
  return found;
}

/** Why the stack is not needed for this run, or undefined when integration tests will run. */
function reasonToSkip(globalConfig) {
  if (process.env.STACK_AUTO_UP === "0") return "STACK_AUTO_UP=0";
  const argv = process.argv.slice(2);
  const selected = optionValues(argv, "selectProjects");
  if (selected.length > 0 && !selected.includes("integration")) return `only ${selected.join(", ")} selected`;
  if (optionValues(argv, "ignoreProjects").includes("integration")) return "integration project ignored";
  const patterns = globalConfig.testPathPatterns?.patterns ?? [];
  if (patterns.length > 0) {
    const regexes = patterns.map((pattern) => {
      try {
        return new RegExp(pattern, "i");
      } catch {
        return { test: (path) => path.includes(pattern) };
      }
    });
    const files = ["packages", "apps", "scripts"].flatMap((root) => integrationTestFiles(join(repoRoot, root)));
    if (!files.some((file) => regexes.some((regex) => regex.test(file))))
      return "no integration test matches the given paths";
  }
  return undefined;
}

/** Adds what this run started to the marker another live run already wrote. */
function mergeMarker(extraFile) {
  const read = (file) => {
    try {
      return JSON.parse(readFileSync(file, "utf8")).started ?? [];
    } catch {
      return [];
    }
  };
  const started = [...new Set([...read(markerFile), ...read(extraFile)])];
  writeFileSync(markerFile, `${JSON.stringify({ started }, null, 2)}\n`);
  rmSync(extraFile, { force: true });
}

module.exports = async function stackSetup(globalConfig) {
  const skip = reasonToSkip(globalConfig);
  if (skip) return;
  registerRun();
  const status = spawnSync(process.execPath, [stackScript, "status", "--quiet"], { cwd: repoRoot, stdio: "ignore" });
  if (status.status === 0) return;

  // A marker left by a crashed earlier run (nobody else running) would make teardown stop components this
  // run did not start; with other runs alive it still describes what they started, so keep it.
  if (existsSync(markerFile) && otherLiveRuns().length === 0) rmSync(markerFile, { force: true });
  console.log("\n[jest] integration tests selected and the local stack is not (fully) running: pnpm stack up");
  const record = existsSync(markerFile) ? `${markerFile}.${process.pid}` : markerFile;
  const up = spawnSync(process.execPath, [stackScript, "up", "--record-started", record], {
    cwd: repoRoot,
    stdio: "inherit",
  });
  if (record !== markerFile) mergeMarker(record);
  if (up.status !== 0) {
    // Jest skips globalTeardown when globalSetup throws: stop the half of the stack this run did start now.
    require("./stack-teardown.cjs")();
    throw new Error(
      `the local stack did not come up (exit ${up.status ?? up.signal}); see the [stack] output above, or run: pnpm stack up`,
    );
  }
};
