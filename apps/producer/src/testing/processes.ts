// The built apps as child processes, for the integration tests that run the producer as deployed: free loopback
// ports, the build, a start that keeps the process's output, and a stop that waits for the exit.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";

export const repoRoot = join(__dirname, "..", "..", "..", "..");

/** `count` distinct free loopback ports: the probes are held open together, so no port is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(
      probes.map(
        (probe) =>
          new Promise<void>((resolve, reject) => {
            probe.once("error", reject);
            probe.listen(0, "127.0.0.1", resolve);
          }),
      ),
    );
    return probes.map((probe) => (probe.address() as AddressInfo).port);
  } finally {
    await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))));
  }
}

export const freePort = async (): Promise<number> => (await freePorts(1))[0] as number;

/** Free ports for the producer's three listeners, and the variables that put it on them. */
export async function producerListeners(): Promise<{
  ports: { rest: number; grpc: number; metrics: number };
  env: Record<string, string>;
}> {
  const [rest, grpc, metrics] = (await freePorts(3)) as [number, number, number];
  return {
    ports: { rest, grpc, metrics },
    env: {
      BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
      BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
      EXPORTER_PORT: `127.0.0.1:${metrics}`,
    },
  };
}

/** `apps/producer/dist` and the packages it needs, built by turbo (cached when nothing changed). */
export function buildProducer(): void {
  execFileSync("pnpm", ["turbo", "run", "build", "--filter=producer...", "--output-logs=errors-only"], {
    cwd: repoRoot,
    stdio: "pipe",
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface AppProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
}

/** Starts `apps/<app>/dist/main.js <app>` with the test's environment on top of this process's. */
export function spawnBuiltApp(app: "producer" | "consumer", env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [join(repoRoot, `apps/${app}/dist/main.js`), app], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, output: () => output, exited };
}

export const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Sends `signal` to a child still running and waits for its exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}
