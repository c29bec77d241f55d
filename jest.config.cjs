// One aggregated run for `pnpm test`: unit tests (pure logic) and integration tests (*.it.test.ts, real stack).
const preset = require("./jest.preset.cjs");
const roots = ["<rootDir>/packages", "<rootDir>/apps", "<rootDir>/scripts", "<rootDir>/deploy"];

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: "<rootDir>/scripts/jest/stack-setup.cjs",
  globalTeardown: "<rootDir>/scripts/jest/stack-teardown.cjs",
  // Unit tests get Jest's 5 s: pure logic on fake clocks, where a longer wait only hides a hang. Jest reads
  // testTimeout from the global config alone, so the integration project sets its own in a setup file.
  testTimeout: 5_000,
  projects: [
    {
      ...preset,
      displayName: "unit",
      roots,
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: [...preset.testPathIgnorePatterns, "\\.it\\.test\\.ts$"],
    },
    {
      ...preset,
      displayName: "integration",
      roots,
      testMatch: ["**/*.it.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/scripts/jest/integration-timeout.cjs"],
    },
  ],
};
