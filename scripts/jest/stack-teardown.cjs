// Jest globalTeardown: stops the stack components that Jest's globalSetup started, nothing else, and only when
// no other Jest run on this checkout still uses them (the last run out stops them).
const { spawnSync } = require("node:child_process");
const { existsSync, readFileSync, rmSync } = require("node:fs");
const { markerFile, otherLiveRuns, repoRoot, stackScript, unregisterRun } = require("./stack-paths.cjs");

module.exports = async function stackTeardown() {
  unregisterRun();
  if (!existsSync(markerFile)) return;
  const others = otherLiveRuns();
  if (others.length > 0) {
    console.log(`\n[jest] leaving the stack running: other test runs still use it (pid ${others.join(", ")})`);
    return;
  }
  let started = [];
  try {
    started = JSON.parse(readFileSync(markerFile, "utf8")).started ?? [];
  } catch {
    // unreadable marker: stop nothing rather than guess
  }
  rmSync(markerFile, { force: true });
  if (started.length === 0) return;
  console.log(`\n[jest] stopping what the test run started: ${started.join(", ")}`);
  spawnSync(process.execPath, [stackScript, "down", "--only", started.join(",")], { cwd: repoRoot, stdio: "inherit" });
};
