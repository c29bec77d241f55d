// Jest globalTeardown: stops the stack components that stack-setup.cjs started in this run, nothing else.
const { spawnSync } = require("node:child_process");
const { existsSync, readFileSync, rmSync } = require("node:fs");
const { markerFile, repoRoot, stackScript } = require("./stack-paths.cjs");

module.exports = async function stackTeardown() {
  if (!existsSync(markerFile)) return;
  let started = [];
  try {
    started = JSON.parse(readFileSync(markerFile, "utf8")).started ?? [];
  } catch {
    // unreadable marker: stop nothing rather than guess
  }
  rmSync(markerFile, { force: true });
  if (started.length === 0) return;
  console.log(`\n[jest] stopping what this test run started: ${started.join(", ")}`);
  spawnSync(process.execPath, [stackScript, "down", "--only", started.join(",")], { cwd: repoRoot, stdio: "inherit" });
};
