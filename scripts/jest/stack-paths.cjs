// Shared by stack-setup.cjs and stack-teardown.cjs.
const { mkdirSync, readdirSync, rmSync, writeFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

const repoRoot = resolve(__dirname, "..", "..");
const stackDir = resolve(repoRoot, process.env.STACK_DIR || ".stack");
const runsDir = join(stackDir, "jest-runs");

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

module.exports = {
  repoRoot,
  stackScript: join(repoRoot, "scripts", "stack", "stack.ts"),
  /** Which components Jest brought up (written by `stack.ts up --record-started`); stopped by the last run out. */
  markerFile: join(stackDir, "jest-started.json"),
  /**
   * Several Jest runs can share one checkout's stack (engineers, CI shards). Each run that needs the stack
   * registers here, so the components a run started are stopped only when no other run still uses them.
   */
  registerRun() {
    mkdirSync(runsDir, { recursive: true });
    writeFileSync(join(runsDir, String(process.pid)), "");
  },
  unregisterRun() {
    rmSync(join(runsDir, String(process.pid)), { force: true });
  },
  otherLiveRuns() {
    let entries = [];
    try {
      entries = readdirSync(runsDir);
    } catch {
      return [];
    }
    return entries
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid !== process.pid)
      .filter((pid) => {
        if (isAlive(pid)) return true;
        rmSync(join(runsDir, String(pid)), { force: true });
        return false;
      });
  },
};
