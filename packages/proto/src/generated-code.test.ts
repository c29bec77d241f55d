import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";

const packageDir = join(__dirname, "..");
const committed = join(packageDir, "src", "gen");
const scratch = mkdtempSync(join(tmpdir(), "proto-gen-"));

function files(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(root, join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
  );
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("generated code", () => {
  it("matches what buf generates from proto/ (run `pnpm --filter @barito-flow/proto generate` after editing a .proto)", () => {
    const bin = join(packageDir, "node_modules", ".bin");
    execFileSync(join(bin, "buf"), ["generate", "--output", scratch], {
      cwd: packageDir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      stdio: "pipe",
    });
    const generated = join(scratch, "src", "gen");
    expect(files(generated).sort()).toEqual(files(committed).sort());
    for (const file of files(committed)) {
      expect(`${file}:\n${readFileSync(join(generated, file), "utf8")}`).toBe(
        `${file}:\n${readFileSync(join(committed, file), "utf8")}`,
      );
    }
  });
});
