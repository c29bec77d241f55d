// Shared Jest settings: swc transpiles each file (types are checked by `tsc` in the typecheck task),
// workspace packages resolve to their TypeScript sources through the "@barito-flow/source" condition.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: {
    "^.+\\.(t|j)sx?$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript" }, target: "es2023" }, module: { type: "commonjs" } },
    ],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testEnvironmentOptions: { customExportConditions: ["@barito-flow/source", "node", "require", "default"] },
  transformIgnorePatterns: ["/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?(p-retry|is-network-error)/)"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
};
