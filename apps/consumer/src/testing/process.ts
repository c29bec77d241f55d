// Child processes of the consumer's integration tests (the built apps, or main.ts run from source) with what they
// print kept for the assertions and for the failure messages.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";

export const repoRoot = join(__dirname, "..", "..", "..", "..");

/** What is kept of each stream, and of both interleaved: the end, which is where a failure's reason is. */
const keptChars = 200_000;

export interface CapturedProcess {
  readonly child: ChildProcess;
  /** Settles when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
}

/** Spawns `command` with `env` over this process's environment. */
export function spawnCaptured(
  command: string,
  args: string[],
  options: { env: Record<string, string>; detached?: boolean },
): CapturedProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const kept = { stdout: "", stderr: "", output: "" };
  const keep = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = chunk.toString();
    kept[stream] = (kept[stream] + text).slice(-keptChars);
    kept.output = (kept.output + text).slice(-keptChars);
  };
  child.stdout?.on("data", keep("stdout"));
  child.stderr?.on("data", keep("stderr"));
  return {
    child,
    exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    stdout: () => kept.stdout,
    stderr: () => kept.stderr,
    output: () => kept.output,
  };
}

/** `barito-flow <args>` from source, as `pnpm dlq` and `pnpm dev` run it (tsx, the packages' source condition). */
export function consumerFromSource(args: string[], env: Record<string, string>): CapturedProcess {
  return spawnCaptured(
    join(repoRoot, "apps/consumer/node_modules/.bin/tsx"),
    ["--conditions=@barito-flow/source", join(repoRoot, "apps/consumer/src/main.ts"), ...args],
    { env },
  );
}

/** Builds the consumer and the packages it needs into their dist folders (turbo: nothing to do when up to date). */
export function buildConsumer(): void {
  execFileSync("pnpm", ["turbo", "run", "build", "--filter=consumer...", "--output-logs=errors-only"], {
    cwd: repoRoot,
    stdio: "pipe",
  });
}
