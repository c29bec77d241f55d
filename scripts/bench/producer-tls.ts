// `BENCH_TLS=1 pnpm bench producer`: what TLS costs. Two producers run at once on the same Kafka, one cleartext, one
// with BARITO_PRODUCER_TLS_* (a certificate made with /usr/bin/openssl). The REST and gRPC scenarios alternate
// between them for BENCH_TLS_ROUNDS rounds (default 3), each scenario BENCH_SECONDS long, so that the noise of a
// shared machine falls on both alike; the table reports the median of the rounds. wrk and h2load keep their
// connections and present no client certificate, so handshakes are measured apart, with `openssl s_time -new`,
// against the TLS producer and a third one that requires client certificates (mTLS).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createTestPki } from "../../packages/tls/src/testing/pki.ts";
import { withCpu } from "./cpu.ts";
import { driveGrpcWithH2load, driveWithWrk, installed, type Result } from "./drivers.ts";
import { type HandshakeResult, measureHandshakes } from "./handshakes.ts";
import { batchBody, grpcBatchFrame, logsPerBatch, startProducer } from "./producer.ts";
import { build, concurrency, ensureStack, root, seconds, step } from "./settings.ts";

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const signed = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(0)}`;

export async function benchProducerTls() {
  if (!installed("wrk") || !installed("h2load")) throw new Error("BENCH_TLS=1 needs wrk and h2load (both speak TLS)");
  ensureStack("kafka");
  build("producer");
  const rounds = Number(process.env.BENCH_TLS_ROUNDS ?? 3);
  const pki = createTestPki();
  const ca = pki.ca("bench-ca");
  const server = ca.server("producer");
  const client = ca.client("bench-client");
  const plain = await startProducer();
  const tls = await startProducer({
    BARITO_PRODUCER_TLS_CERT: server.certPath,
    BARITO_PRODUCER_TLS_KEY: server.keyPath,
    ...(process.env.BENCH_TLS_MIN_VERSION
      ? { BARITO_PRODUCER_TLS_MIN_VERSION: process.env.BENCH_TLS_MIN_VERSION }
      : {}),
  });
  const mtls = await startProducer({
    BARITO_PRODUCER_TLS_CERT: server.certPath,
    BARITO_PRODUCER_TLS_KEY: server.keyPath,
    BARITO_PRODUCER_TLS_CLIENT_CA: ca.certPath,
  });
  const frame = grpcBatchFrame();
  const runs: Record<string, Result[]> = {};
  const handshakes: Record<string, HandshakeResult[]> = {};
  try {
    // Creates the topic (both producers write the same one).
    await fetch(`http://127.0.0.1:${plain.rest}/produce_batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: batchBody,
    }).then((r) => r.arrayBuffer());
    step(`${rounds} rounds; ${seconds}s per scenario, ${concurrency} concurrent clients; cleartext and TLS alternate`);
    const variants = [
      { name: "cleartext", producer: plain, scheme: "http" as const },
      { name: "TLS", producer: tls, scheme: "https" as const },
    ];
    for (let round = 0; round < rounds; round++) {
      // Alternate which variant goes first, so neither always runs right after the other's load.
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const scenario of ["REST", "gRPC"] as const) {
        for (const { name, producer, scheme } of order) {
          const key = `${scenario} ${name}`;
          const result = await withCpu(producer.child.pid, () =>
            scenario === "REST"
              ? driveWithWrk(
                  `REST /produce_batch (100 logs), ${name}`,
                  `${scheme}://127.0.0.1:${producer.rest}/produce_batch`,
                  batchBody,
                  logsPerBatch,
                )
              : driveGrpcWithH2load(
                  `gRPC ProduceBatch zstd (100 logs), ${name}`,
                  producer.grpc,
                  producer.metrics,
                  frame,
                  logsPerBatch,
                  scheme,
                ),
          );
          const done = runs[key] ?? [];
          done.push(result);
          runs[key] = done;
          step(
            `round ${round + 1} ${key}: ${result.logsPerSecond.toFixed(0)} logs/s, ${result.producerCpuMsPer1kLogs?.toFixed(1)} CPU ms / 1k logs, ${result.errors} errors`,
          );
        }
      }
      const pairs = [
        { name: "TLS", producer: tls, presented: undefined },
        { name: "mTLS", producer: mtls, presented: client },
      ];
      for (const { name, producer, presented } of round % 2 === 0 ? pairs : [...pairs].reverse()) {
        const result = measureHandshakes(name, producer.rest, producer.child.pid, seconds, presented);
        handshakes[name] = [...(handshakes[name] ?? []), result];
        step(
          `round ${round + 1} handshakes ${name}: ${result.handshakesPerSecond.toFixed(0)}/s, ${result.producerCpuMsPerHandshake.toFixed(2)} producer CPU ms each`,
        );
      }
    }
  } finally {
    for (const producer of [plain, tls, mtls]) producer.child.kill("SIGTERM");
    pki.remove();
  }

  console.log(
    `\nmachine: ${process.platform} ${process.arch}, Node ${process.versions.node}, ${availableParallelism()} CPUs; ` +
      `${rounds} rounds × ${seconds}s per scenario; TLS: ${process.env.BENCH_TLS_MIN_VERSION ?? "TLSv1.2"} minimum (clients negotiate TLS 1.3), ECDSA P-256 certificate\n`,
  );
  console.log(
    "| scenario | logs/s (median) | logs/s per round | producer CPU ms / 1k logs (median) | per round | p50 ms | errors |",
  );
  console.log("| --- | ---: | --- | ---: | --- | ---: | ---: |");
  const summary: Record<string, { logsPerSecond: number; cpuMsPer1kLogs: number }> = {};
  for (const [key, results] of Object.entries(runs)) {
    const rates = results.map((r) => r.logsPerSecond);
    const cpus = results.map((r) => r.producerCpuMsPer1kLogs ?? 0);
    summary[key] = { logsPerSecond: median(rates), cpuMsPer1kLogs: median(cpus) };
    console.log(
      `| ${key} | ${median(rates).toFixed(0)} | ${rates.map((r) => r.toFixed(0)).join(", ")} | ${median(cpus).toFixed(1)} | ${cpus.map((c) => c.toFixed(1)).join(", ")} | ${median(results.map((r) => r.p50ms ?? 0)).toFixed(1)} | ${results.reduce((sum, r) => sum + r.errors, 0)} |`,
    );
  }
  for (const line of pairedRatios(runs)) console.log(line);
  console.log(
    "\n| new connections (openssl s_time -new, REST port) | handshakes/s (median) | per round | producer CPU ms per handshake (median) | per round |",
  );
  console.log("| --- | ---: | --- | ---: | --- |");
  for (const [name, results] of Object.entries(handshakes)) {
    const rates = results.map((r) => r.handshakesPerSecond);
    const cpus = results.map((r) => r.producerCpuMsPerHandshake);
    console.log(
      `| ${name} | ${median(rates).toFixed(0)} | ${rates.map((r) => r.toFixed(0)).join(", ")} | ${median(cpus).toFixed(2)} | ${cpus.map((c) => c.toFixed(2)).join(", ")} |`,
    );
  }
  const outDir = join(root, ".bench");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `producer-tls-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify({ seconds, concurrency, rounds, runs, summary, handshakes }, null, 2));
  step(`results written to ${out}`);
}

/**
 * TLS against cleartext round by round (the two ran back to back, so they shared the machine's load of the moment),
 * then the median of those ratios: steadier than the ratio of the medians when the load swings between rounds.
 */
export function pairedRatios(runs: Record<string, Result[]>): string[] {
  const lines: string[] = [];
  for (const scenario of ["REST", "gRPC"]) {
    const [plain, tls] = [runs[`${scenario} cleartext`] ?? [], runs[`${scenario} TLS`] ?? []];
    const rounds = Math.min(plain.length, tls.length);
    if (rounds === 0) continue;
    const rate: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [p, t] = [plain[i] as Result, tls[i] as Result];
      rate.push(t.logsPerSecond / p.logsPerSecond);
      if (p.producerCpuMsPer1kLogs && t.producerCpuMsPer1kLogs)
        cpu.push(t.producerCpuMsPer1kLogs / p.producerCpuMsPer1kLogs);
    }
    lines.push(
      `${scenario}, TLS / cleartext per round: rate ${rate.map((r) => r.toFixed(2)).join(", ")} (median ${median(rate).toFixed(2)}); ` +
        `CPU per log ${cpu.map((c) => c.toFixed(2)).join(", ")} (median ${signed((median(cpu) - 1) * 100)}%)`,
    );
  }
  return lines;
}
