import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { consumerEnvShape } from "./consumer-config.js";
import { producerEnvShape } from "./producer-config.js";

// The README table is what operators read; a variable missing from it is effectively undocumented.
describe("README.md", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  const names = [...new Set([...Object.keys(producerEnvShape), ...Object.keys(consumerEnvShape)])];

  it.each(names)("documents %s in a table row", (name) => {
    expect(readme).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, "m"));
  });
});
