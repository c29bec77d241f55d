// forceExit in a real Node process whose libuv thread pool is busy (pbkdf2 stands in for a native Kafka flush or
// close there): process.exit waits for the pool, forceExit does not.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";

const lifecycle = join(__dirname, "lifecycle.ts");

// Occupies one thread-pool thread for several seconds, then tries to exit 1 at 100 ms.
const script = (exit: string) => `
  import { pbkdf2 } from "node:crypto";
  import { forceExit } from ${JSON.stringify(lifecycle)};
  pbkdf2("secret", "salt", 5_000_000, 64, "sha512", () => {});
  setTimeout(() => { ${exit} }, 100);
`;

function runNode(args: string[], source: string) {
  const started = Date.now();
  const result = spawnSync(args[0] as string, [...args.slice(1), "--input-type=module", "-e", source], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { ...result, ms: Date.now() - started };
}

describe("forceExit()", () => {
  it("ends at once with a native call on the thread pool, where process.exit would wait for it", () => {
    const forced = runNode([process.execPath], script(`forceExit(1, () => true, () => {});`));
    expect(forced.status ?? forced.signal).not.toBe(0);
    expect(forced.signal).toBe("SIGKILL");
    // The same pool job holds process.exit back until it finished: several seconds.
    const plain = runNode([process.execPath], script(`process.exit(1);`));
    expect(plain.status).toBe(1);
    expect(plain.ms).toBeGreaterThan(forced.ms + 1_000);
  });

  it("uses process.exit, with its code, when no native call runs", () => {
    const result = runNode(
      [process.execPath],
      script(`forceExit(3, () => false, () => {});`).replace("5_000_000", "1"),
    );
    expect(result.status).toBe(3);
  });

  // A container's PID 1 cannot SIGKILL itself (the kernel drops the signal); forceExit must still end it.
  const unshare = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"]).status === 0;
  (unshare ? it : it.skip)("ends PID 1 of a PID namespace too", () => {
    const result = runNode(
      ["unshare", "--pid", "--fork", "--mount-proc", process.execPath],
      script(`forceExit(1, () => true, () => {});`),
    );
    expect(result.status ?? result.signal).not.toBe(0);
    expect(result.ms).toBeLessThan(5_000);
  });
});
