import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Logger } from "@barito-flow/logger";
import type { SecretSource } from "./app-authenticator.js";
import type { SecretDigester } from "./secret-digest.js";
import { parseSecretTable, SecretTableError, type SecretTable } from "./secret-table.js";

export interface FileSecretSourceOptions {
  path: string;
  digester: SecretDigester;
  /** How often the file is read again (BARITO_PRODUCER_AUTH_SECRETS_RELOAD_INTERVAL). */
  intervalMs: number;
  logger: Logger;
}

export interface FileSecretSource extends SecretSource {
  /** Reads the file again now; true when a new table was taken. (The timer calls it; tests call it directly.) */
  reload(): Promise<boolean>;
  stop(): void;
}

const fingerprint = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64");

/**
 * BARITO_PRODUCER_AUTH_SECRETS_FILE: the table of `parseSecretTable`, read at start (a missing or broken file stops
 * the start) and then polled. Polling reads the content, not the modification time: a Kubernetes Secret volume
 * swaps a symlink (`..data`) to a new directory, which keeps the old file's mtime and inode under some runtimes,
 * and a read through the path always follows the link to whatever is current. A new content that cannot be read or
 * parsed is logged (without any of it) and the last good table stays in force.
 */
export function createFileSecretSource(options: FileSecretSourceOptions): FileSecretSource {
  const { path, digester, logger } = options;
  let table: SecretTable;
  let seen: string;
  let reportedProblem: string | undefined;
  try {
    const bytes = readFileSync(path);
    table = parseSecretTable(bytes.toString("utf8"), digester);
    seen = fingerprint(bytes);
  } catch (err) {
    throw new SecretTableError(`${path}: ${problemOf(err)}`);
  }
  logger.info("app secrets loaded", { path, secrets: table.size });

  async function reload(): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      report(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      return false;
    }
    const print = fingerprint(bytes);
    if (print === seen) return false;
    try {
      table = parseSecretTable(bytes.toString("utf8"), digester);
    } catch (err) {
      report(problemOf(err));
      return false;
    }
    seen = print;
    reportedProblem = undefined;
    logger.info("app secrets reloaded", { path, secrets: table.size });
    return true;
  }

  /** Once per distinct problem, not once per poll. */
  function report(problem: string): void {
    if (problem === reportedProblem) return;
    reportedProblem = problem;
    logger.error("app secrets file not reloaded; the last good table stays in force", { path, problem });
  }

  const timer = setInterval(() => void reload(), options.intervalMs);
  timer.unref();

  return {
    lookup: (secret) => table.lookup(secret),
    reload,
    stop: () => clearInterval(timer),
  };
}

function problemOf(err: unknown): string {
  if (err instanceof SecretTableError) return err.message;
  const code = (err as NodeJS.ErrnoException)?.code;
  return code ? `cannot read the file (${code})` : "cannot read the file";
}
