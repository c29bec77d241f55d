// Runs one app as its pod would (the manifest's environment and ports), probes it the way the kubelet would, then
// stops it with SIGTERM and times the exit. Meant to run inside a network namespace of its own (see
// deploy/pods.it.test.ts), so the manifest's real ports can be used and nothing outside is reachable.
// Input (stdin, JSON): { command: string[], env, httpGets: [{ name, path, port }], tcpPorts: number[],
//   startup: { periodSeconds, failureThreshold }, stopWithinMs }. Output (stdout, JSON): what it saw.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const input = JSON.parse(readFileSync(0, "utf8"));
const [command, ...args] = input.command;
const started = Date.now();
const child = spawn(command, args, { env: input.env, stdio: ["ignore", "ignore", "pipe"] });
let stderr = "";
child.stderr.on("data", (chunk) => {
  stderr = (stderr + chunk).slice(-4_000);
});
const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
let exit;
void exited.then((result) => {
  exit = result;
});

async function get(path, port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1_000) });
    const body = await response.text();
    return { status: response.status, body: body.slice(0, 200) };
  } catch (err) {
    return { status: 0, body: String(err?.cause?.code ?? err) };
  }
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const report = { startupMs: undefined, probes: {}, ports: {}, stop: undefined, stderr: "" };
const startup = input.httpGets.find((probe) => probe.name === "startupProbe");
for (let attempt = 0; attempt < input.startup.failureThreshold && !exit; attempt++) {
  if ((await get(startup.path, startup.port)).status === 200) {
    report.startupMs = Date.now() - started;
    break;
  }
  await sleep(input.startup.periodSeconds * 1_000);
}
if (report.startupMs !== undefined) {
  for (const probe of input.httpGets) report.probes[probe.name] = await get(probe.path, probe.port);
  for (const port of input.tcpPorts) report.ports[port] = await accepts(port);
}
if (!exit) {
  const stopping = Date.now();
  child.kill("SIGTERM");
  const deadline = new AbortController();
  const result = await Promise.race([
    exited,
    sleep(input.stopWithinMs, undefined, { signal: deadline.signal }).catch(() => undefined),
  ]);
  deadline.abort();
  report.stop = result ? { ...result, ms: Date.now() - stopping } : { timedOut: true };
  if (!result) {
    child.kill("SIGKILL");
    await exited;
  }
} else {
  report.stop = { exitedEarly: exit };
}
report.stderr = stderr;
process.stdout.write(JSON.stringify(report));
