// OpenSearch and Elasticsearch refuse to run as root: when the stack is started by root, they run as a dedicated
// system account (created once with useradd), and the directories they write are handed to it.
import { spawnSync } from "node:child_process";
import { chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "./component.ts";
import { type StackConfig, StackError } from "./config.ts";

export interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** The account to run a search engine as, or undefined when the stack does not run as root. */
export function searchRunAs(config: StackConfig, log: Log, product: string): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = config.opensearchUser;
  let id = spawnSync("id", ["-u", user], { encoding: "utf8" });
  if (id.status !== 0) {
    log(`${product.toLowerCase()}: creating system user ${user} (${product} refuses to run as root)`);
    const add = spawnSync(
      "useradd",
      ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
      { encoding: "utf8" },
    );
    if (add.status !== 0)
      throw new StackError("user_create_failed", `useradd ${user} failed: ${(add.stderr || add.stdout).trim()}`);
    id = spawnSync("id", ["-u", user], { encoding: "utf8" });
  }
  const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
  const uidValue = Number(id.stdout.trim());
  const gidValue = Number(gid.stdout.trim());
  if (!Number.isInteger(uidValue) || !Number.isInteger(gidValue))
    throw new StackError("user_lookup_failed", `cannot read the uid/gid of ${user}`);
  return { uid: uidValue, gid: gidValue, user };
}

export function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}
