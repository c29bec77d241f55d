// Unit tests only; integration tests (*.it.test.ts) run from the root config, which brings the stack up.
const preset = require("../../jest.preset.cjs");
module.exports = { ...preset, testPathIgnorePatterns: [...preset.testPathIgnorePatterns, "\\.it\\.test\\.ts$"] };
