// Jest config for `pnpm test:mutate` (stryker.config.mjs): the shared preset, limited to the unit tests that guard
// the mutated modules (Stryker passes their list in BARITO_MUTATION_TESTS).
const path = require("node:path");
const preset = require("../../jest.preset.cjs");
const tests = JSON.parse(process.env.BARITO_MUTATION_TESTS ?? "[]");

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  rootDir: path.join(__dirname, "..", ".."),
  testMatch: tests.map((file) => `<rootDir>/${file}`),
  testTimeout: 5_000,
};
