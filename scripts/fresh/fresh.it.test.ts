// `pnpm test:fresh` inside `pnpm test`: ./barito start in a bare Debian container, twice. It installs from the
// network (Debian mirror, npm registry, Maven Central) every time: about 3 minutes on the project's machine.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "@jest/globals";

const root = fileURLToPath(new URL("../..", import.meta.url));

it("./barito start on a bare machine indexes the curl example, and its second run skips the setup", () => {
  const run = spawnSync(process.execPath, [join(root, "scripts", "fresh", "fresh.ts")], {
    cwd: root,
    encoding: "utf8",
    timeout: 1_500_000,
  });
  const out = `${run.stdout}${run.stderr}`;
  console.log(
    out
      .split("\n")
      .filter((l) => l.startsWith("[fresh]"))
      .join("\n"),
  );
  // The reason first, so that a failure names it even where only the end of the output is kept.
  expect(/\[fresh\] FAILED: [\s\S]{0,3000}/.exec(out)?.[0]).toBeUndefined();
  expect(out).toContain("non-root: barito: missing Debian packages; run: sudo apt-get");
  expect(out).toMatch(/first run: producer ready after \d+s; .*document indexed \d+ ms after the POST/);
  // The second run's setup phases are skipped: each takes a second at most.
  expect(out).toMatch(
    /second run: producer ready after \d+s; phases Debian packages [01]s, Node 24 and pnpm [01]s, Dependencies [01]s,/,
  );
  expect(run.status).toBe(0);
}, 1_600_000);
