// One aggregated run for `pnpm test`: unit tests (pure logic) and integration tests (*.it.test.ts, real stack).
const preset = require("./jest.preset.cjs");
const roots = ["<rootDir>/packages", "<rootDir>/apps", "<rootDir>/scripts", "<rootDir>/deploy"];

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: "<rootDir>/scripts/jest/stack-setup.cjs",
  globalTeardown: "<rootDir>/scripts/jest/stack-teardown.cjs",
  // Integration tests wait on real servers (topic creation, rebalances, bulk refreshes).
  testTimeout: 60_000,
  projects: [
    { ...preset, displayName: "unit", roots, testMatch: ["**/*.test.ts"], testPathIgnorePatterns: [...preset.testPathIgnorePatterns, "\\.it\\.test\\.ts$"] },
    { ...preset, displayName: "integration", roots, testMatch: ["**/*.it.test.ts"] },
  ],
};
