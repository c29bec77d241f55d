// New TLS connections per second against a producer port, and the producer's CPU per handshake, with
// `openssl s_time -new` (a full handshake per connection, no resumption): what wrk and h2load, which keep their
// connections and present no client certificate, do not measure.
import { spawnSync } from "node:child_process";
import { cpuSeconds } from "./cpu.ts";

export interface HandshakeResult {
  scenario: string;
  handshakes: number;
  seconds: number;
  handshakesPerSecond: number;
  producerCpuMsPerHandshake: number;
}

export function measureHandshakes(
  scenario: string,
  port: number,
  producerPid: number | undefined,
  seconds: number,
  client?: { certPath: string; keyPath: string },
): HandshakeResult {
  const args = ["s_time", "-connect", `127.0.0.1:${port}`, "-new", "-time", String(seconds)];
  if (client) args.push("-cert", client.certPath, "-key", client.keyPath);
  const cpuBefore = cpuSeconds(producerPid);
  const started = performance.now();
  const run = spawnSync("/usr/bin/openssl", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  const elapsed = (performance.now() - started) / 1000;
  const spent = cpuSeconds(producerPid) - cpuBefore;
  const handshakes = Number(/(\d+) connections in [\d.]+s/.exec(run.stdout ?? "")?.[1] ?? 0);
  if (run.status !== 0 || handshakes === 0) {
    throw new Error(`openssl s_time against ${scenario} failed (exit ${run.status}): ${run.stderr || run.stdout}`);
  }
  return {
    scenario,
    handshakes,
    seconds: elapsed,
    handshakesPerSecond: handshakes / elapsed,
    producerCpuMsPerHandshake: (spent * 1000) / handshakes,
  };
}
