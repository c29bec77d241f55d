// Shared by stack-setup.cjs and stack-teardown.cjs.
const { mkdirSync } = require("node:fs");
const { join, resolve } = require("node:path");

const repoRoot = resolve(__dirname, "..", "..");
const stackDir = resolve(repoRoot, process.env.STACK_DIR || ".stack");
mkdirSync(stackDir, { recursive: true });

module.exports = {
  repoRoot,
  stackScript: join(repoRoot, "scripts", "stack", "stack.ts"),
  /** Which components the current Jest run brought up (written by `stack.ts up --record-started`). */
  markerFile: join(stackDir, "jest-started.json"),
};
