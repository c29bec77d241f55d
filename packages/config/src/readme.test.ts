import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { sharedEnvShape } from "./shared-schema.js";

// The README table is what operators read; a variable missing from it is effectively undocumented. Each app's
// README lists its own variables (tested there).
describe("README.md", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

  it.each(Object.keys(sharedEnvShape))("documents %s in a table row", (name) => {
    expect(readme).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, "m"));
  });
});
