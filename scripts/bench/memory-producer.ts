// The producer's section of `pnpm bench memory` (memory.ts): the built producer with default settings against the
// local Kafka, peak RSS while idle, under each load of `producerLoads()`, and after them.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort } from "../lib/ports.ts";
import { produceBatch, produceBatchFrame } from "./grpc-produce.ts";
import { brokers, measurePeak, mb, type PhaseResult, root, type Section, sleep, step } from "./memory.ts";
import { benchContext, content } from "./workload.ts";

interface Load {
  name: string;
  protocol: "rest" | "grpc";
  concurrency: number;
  logsPerRequest: number;
  /** Total logs of the phase. */
  logs: number;
}

interface LoadOutcome {
  ok: number;
  refused: number;
  failed: number;
  seconds: number;
}

/** Keeps `concurrency` calls in flight until `total` calls were made; each call says how it was answered. */
async function keepInFlight(
  concurrency: number,
  total: number,
  call: () => Promise<"ok" | "refused" | "failed">,
): Promise<LoadOutcome> {
  const outcome = { ok: 0, refused: 0, failed: 0 };
  let started = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        outcome[await call()]++;
      }
    }),
  );
  return { ...outcome, seconds: (performance.now() - began) / 1000 };
}

function restCall(port: number, agent: Agent, body: Buffer): () => Promise<"ok" | "refused" | "failed"> {
  return () =>
    new Promise((resolveCall) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/produce_batch",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.byteLength },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode === 200) return resolveCall("ok");
            const code = res.statusCode === 503 ? /"code":"(\w+)"/.exec(Buffer.concat(chunks).toString())?.[1] : "";
            resolveCall(code === "OVERLOADED" ? "refused" : "failed");
          });
          res.on("error", () => resolveCall("failed"));
        },
      );
      req.on("error", () => resolveCall("failed"));
      req.end(body);
    });
}

function grpcCall(sessions: ClientHttp2Session[], frame: Buffer): () => Promise<"ok" | "refused" | "failed"> {
  let next = 0;
  return async () => {
    const { status, code } = await produceBatch(sessions[next++ % sessions.length] as ClientHttp2Session, frame);
    return status === 0 ? "ok" : code === "OVERLOADED" ? "refused" : "failed";
  };
}

function producerLoads(): Load[] {
  const logs = Number(process.env.BENCH_MEMORY_LOGS ?? 1_000_000);
  const loads: Load[] = [
    { name: "burst REST 16x1000", protocol: "rest", concurrency: 16, logsPerRequest: 1000, logs },
    { name: "REST 64x1000", protocol: "rest", concurrency: 64, logsPerRequest: 1000, logs },
    { name: "gRPC zstd 64x1000", protocol: "grpc", concurrency: 64, logsPerRequest: 1000, logs },
    // Far above the cap: 64 bodies of ~5.5 MB at once (350 MB if all were taken), so the cap has to refuse.
    { name: "flood REST 64x10000", protocol: "rest", concurrency: 64, logsPerRequest: 10_000, logs: logs * 1.28 },
  ];
  const only = process.env.BENCH_MEMORY_PHASES?.split(",");
  return only ? loads.filter((l) => only.some((o) => l.name.includes(o))) : loads;
}

/**
 * The producer section: starts `<tree>/apps/producer/dist/main.js` with default settings (plus `extraEnv`) against the
 * local Kafka, and measures idle, each load of `producerLoads()`, and a quiet period after them.
 */
export async function producerMemory(
  tree: string,
  build: string,
  extraEnv: Record<string, string> = {},
): Promise<Section> {
  const run = randomUUID().slice(0, 6);
  const [rest, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  const kafkaTopic = `mem${run}`;
  const context = benchContext(kafkaTopic, "mem");
  const producer: ChildProcess = spawn(process.execPath, [join(tree, "apps/producer/dist/main.js"), "producer"], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      BARITO_KAFKA_BROKERS: brokers,
      BARITO_KAFKA_TOPIC_PREFIX: `mem${run}_`,
      BARITO_NEW_TOPIC_EVENT: `mem${run}_new_topic_events`,
      BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
      BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
      EXPORTER_PORT: `127.0.0.1:${metrics}`,
      ...extraEnv,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const pid = producer.pid as number;
  const exited = new Promise<number | null>((r) => producer.once("exit", (code) => r(code)));
  const phases: PhaseResult[] = [];
  try {
    const idle = await measurePeak(pid, async () => {
      for (let i = 0; i < 100; i++) {
        const status = await fetch(`http://127.0.0.1:${metrics}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        if (i === 99) throw new Error(`${build}: the producer did not become ready within 20 s`);
        await sleep(200);
      }
      // Creates the topic, so the loads measure producing only.
      const first = await fetch(`http://127.0.0.1:${rest}/produce_batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ context, items: [{ content: content(0) }] }),
      });
      if (first.status !== 200) throw new Error(`${build}: first request answered ${first.status}`);
      await sleep(3_000);
    });
    phases.push({ phase: "idle (started, one request)", peakRssMb: mb(idle.peakKb), endRssMb: mb(idle.endKb) });

    const requireFromProducer = createRequire(join(root, "apps/producer/package.json"));
    const { create, fromJson, toBinary } = requireFromProducer(
      "@bufbuild/protobuf",
    ) as typeof import("@bufbuild/protobuf");
    const proto = requireFromProducer("@barito-flow/proto") as typeof import("@barito-flow/proto");
    for (const load of producerLoads()) {
      const items = Array.from({ length: load.logsPerRequest }, (_, i) => ({ content: content(i) }));
      const json = { context, items };
      const calls = Math.ceil(load.logs / load.logsPerRequest);
      const agent = new Agent({ keepAlive: true, maxSockets: load.concurrency });
      const sessions: ClientHttp2Session[] = [];
      let call: () => Promise<"ok" | "refused" | "failed">;
      if (load.protocol === "rest") {
        call = restCall(rest, agent, Buffer.from(JSON.stringify(json)));
      } else {
        const message = toBinary(
          proto.TimberCollectionSchema,
          create(proto.TimberCollectionSchema, fromJson(proto.TimberCollectionSchema, json as never)),
        );
        const frame = produceBatchFrame(message);
        for (let i = 0; i < 4; i++) sessions.push(connectHttp2(`http://127.0.0.1:${grpc}`));
        call = grpcCall(sessions, frame);
        step(`${load.name}: ${message.byteLength} B per request decompressed, ${frame.byteLength - 5} B on the wire`);
      }
      step(`${build}: ${load.name} (${calls} requests)`);
      const measured = await measurePeak(pid, () => keepInFlight(load.concurrency, calls, call));
      agent.destroy();
      for (const session of sessions) session.destroy();
      const { ok, refused, failed, seconds } = measured.value;
      // A crashed process may take a moment to be reaped (writing its core): give failures time to show as a death.
      if (failed > 0) await Promise.race([exited, sleep(3_000)]);
      const died = producer.exitCode ?? producer.signalCode;
      if (died !== null) {
        phases.push({ phase: load.name, peakRssMb: mb(measured.peakKb), endRssMb: 0, died: String(died) });
        step(`${build}: the producer died during ${load.name} (${died}); the section ends here`);
        return { app: "producer", build, phases };
      }
      phases.push({
        phase: load.name,
        peakRssMb: mb(measured.peakKb),
        endRssMb: mb(measured.endKb),
        ok,
        refused,
        failed,
        seconds,
        logsPerSecond: (ok * load.logsPerRequest) / seconds,
      });
    }
    const after = await measurePeak(pid, () => sleep(5_000));
    phases.push({ phase: "after (5 s quiet)", peakRssMb: mb(after.peakKb), endRssMb: mb(after.endKb) });
    return { app: "producer", build, phases };
  } finally {
    producer.kill("SIGTERM");
    const timer = setTimeout(() => producer.kill("SIGKILL"), 40_000);
    const code = await exited;
    clearTimeout(timer);
    step(`${build}: producer exited with ${code}`);
  }
}
