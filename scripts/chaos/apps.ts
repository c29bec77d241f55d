// The built producer and consumer (apps/*/dist/main.js) as child processes of the chaos runner: started with their
// environment configuration, killed with SIGKILL on purpose, restarted, and watched for exits nobody asked for.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, type WriteStream, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface UnexpectedExit {
  app: string;
  at: number;
  code: number | null;
  signal: string | null;
}

/** One app process, restartable under the same name, ports and environment. */
export class AppProcess {
  readonly name: string;
  private readonly script: string;
  private readonly args: string[];
  private readonly env: NodeJS.ProcessEnv;
  private readonly logFile: string;
  private readonly onUnexpectedExit: (exit: UnexpectedExit) => void;
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  /** Set while we are the ones stopping it, so that exit is not reported as a crash. */
  private expectingExit = false;
  starts = 0;

  constructor(options: {
    name: string;
    root: string;
    app: "producer" | "consumer";
    env: NodeJS.ProcessEnv;
    logDir: string;
    onUnexpectedExit: (exit: UnexpectedExit) => void;
  }) {
    this.name = options.name;
    this.script = join(options.root, "apps", options.app, "dist", "main.js");
    this.args = [options.app];
    this.env = options.env;
    this.logFile = join(options.logDir, `${options.name}.log`);
    this.onUnexpectedExit = options.onUnexpectedExit;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    this.starts++;
    this.log ??= createWriteStream(this.logFile, { flags: "a" });
    this.log.write(`\n=== ${new Date().toISOString()} start #${this.starts} ===\n`);
    const child = spawn(process.execPath, [this.script, ...this.args], {
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.expectingExit = false;
    child.once("exit", (code, signal) => {
      this.log?.write(`=== ${new Date().toISOString()} exited code=${code} signal=${signal} ===\n`);
      if (!this.expectingExit && this.child === child)
        this.onUnexpectedExit({ app: this.name, at: Date.now(), code, signal });
    });
    this.child = child;
  }

  private async waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** SIGKILL now (a crash); resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    child.kill("SIGKILL");
    await this.waitExit(child, 10_000);
  }

  /** SIGTERM (graceful shutdown), SIGKILL after timeoutMs. Returns how it ended. */
  async stop(timeoutMs = 40_000): Promise<"stopped" | "killed" | "not-running"> {
    const child = this.child;
    if (!child || !this.running) return "not-running";
    this.expectingExit = true;
    child.kill("SIGTERM");
    if (await this.waitExit(child, timeoutMs)) return "stopped";
    child.kill("SIGKILL");
    await this.waitExit(child, 10_000);
    return "killed";
  }

  exitCode(): number | null | undefined {
    return this.child?.exitCode;
  }

  close(): void {
    this.log?.end();
    this.log = undefined;
  }
}

/** Polls url until it answers 200 (or the deadline passes). */
export async function waitHttpOk(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (status === 200) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** A Prometheus metric summed over its label sets (those containing labelFilter); undefined when unreachable. */
export async function scrapeMetricSum(url: string, metric: string, labelFilter = ""): Promise<number | undefined> {
  const text = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => (r.ok ? r.text() : undefined),
    () => undefined,
  );
  if (text === undefined) return undefined;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    if ((line.startsWith(`${metric} `) || line.startsWith(`${metric}{`)) && line.includes(labelFilter)) {
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (Number.isFinite(value)) sum += value;
    }
  }
  return sum;
}

/** One run per private stack directory: a second run would reset (stop) the first one's stack. */
export function claimStackDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "chaos-run.pid");
  try {
    const holder = Number(readFileSync(lock, "utf8").trim());
    if (Number.isInteger(holder) && holder > 1 && holder !== process.pid) {
      let alive = true;
      try {
        process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (alive && readFileSync(`/proc/${holder}/cmdline`, "utf8").includes("chaos"))
        throw new Error(`another chaos run (pid ${holder}) uses ${dir}; wait for it or pass --stack-dir`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  writeFileSync(lock, `${process.pid}\n`);
}
