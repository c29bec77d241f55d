// `pnpm bench consumer`: the consumer draining a pre-filled topic into OpenSearch, next to the `_bulk` ceiling.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { freePort } from "../lib/ports.ts";
import { cpuSeconds, describeMicros, microsPerDoc, procStat } from "./cpu.ts";
import { brokers, build, ensureStack, root, run, step } from "./settings.ts";
import { content } from "./workload.ts";

/**
 * `pnpm bench consumer`: docs/s draining a pre-filled topic (BENCH_RECORDS, default 200k records of ~500 B) into
 * OpenSearch, next to the ceiling: the same documents sent straight to _bulk with the best of a few request sizes
 * and concurrencies (BENCH_CEILING; picked by a calibration pass), measured before and after each of BENCH_ROUNDS
 * (default 5) drains by a new consumer process. The consumer's sink uses the same request size and concurrency unless
 * BENCH_BULK_SIZE or BENCH_IN_FLIGHT say otherwise; BENCH_SKIP_STACK=1 uses Kafka and OpenSearch as they are.
 */
export async function benchConsumer() {
  const records = Number(process.env.BENCH_RECORDS ?? 200_000);
  const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
  if (process.env.BENCH_SKIP_STACK !== "1") ensureStack("kafka,opensearch");
  build("consumer");

  const requireFromConsumer = createRequire(join(root, "apps/consumer/package.json"));
  const { create, toBinary } = requireFromConsumer("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
  const proto = requireFromConsumer("@barito-flow/proto") as typeof import("@barito-flow/proto");
  const kafka = requireFromConsumer("@barito-flow/kafka") as typeof import("@barito-flow/kafka");
  const prefix = `benchc${run}_`;
  const indexPrefix = `benchc${run}`;
  const topic = `${prefix}app_logs`;
  const admin = kafka.createKafkaAdmin({ brokers: [brokers], clientId: `bench-${run}` });
  const writer = kafka.createKafkaPublisher({ brokers: [brokers], clientId: `bench-writer-${run}` });
  await Promise.all([admin.connect(), writer.connect()]);
  await admin.createTopic({ topic, partitions: 4, replicationFactor: 1 });
  const timestamp = "2026-01-01T00:00:00Z";
  // The ceiling sends these very documents: the JSON the consumer writes (content, then @timestamp).
  const docs: string[] = [];
  step(`pre-filling ${topic} with ${records} records`);
  for (let sent = 0; sent < records; sent += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, records - sent) }, (_, i) => {
      const logContent = content(sent + i);
      docs.push(JSON.stringify({ ...logContent, "@timestamp": timestamp }));
      return {
        key: String(sent + i),
        value: toBinary(
          proto.TimberSchema,
          create(proto.TimberSchema, {
            context: { kafkaTopic: "app", esIndexPrefix: indexPrefix, appMaxTps: 1 },
            timestamp,
            content: logContent as never,
          }),
        ),
      };
    });
    await writer.publish(topic, batch);
    process.stdout.write(`\r[bench] pre-filled ${Math.min(records, sent + 5_000)}/${records}`);
  }
  process.stdout.write("\n");

  // No explicit _refresh while draining (it would slow indexing down); the index refreshes itself every second.
  const count = async (pattern: string, refresh = false) => {
    if (refresh) await fetch(`${opensearch}/${pattern}/_refresh`, { method: "POST" }).catch(() => undefined);
    const res = await fetch(`${opensearch}/${pattern}/_count`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as { count: number }).count : 0;
  };
  const indexedOperations = async (pattern: string) => {
    const res = await fetch(`${opensearch}/${pattern}/_stats/indexing?filter_path=_all.primaries.indexing.index_total`)
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined);
    return (
      (res as { _all?: { primaries?: { indexing?: { index_total?: number } } } } | undefined)?._all?.primaries?.indexing
        ?.index_total ?? 0
    );
  };
  // The ceiling: the same documents straight to _bulk with the best of a few request sizes and concurrencies
  // ("<docs>x<in flight>"). A calibration pass picks the best one; only that one is then measured around every drain
  // (the machine is shared: this averages out drift). The rates that picked it are not reused: the best of a few
  // noisy rates overstates the configuration's true rate (here by about 3%, with passes ±8% apart).
  type CeilingConfig = { size: number; inFlight: number };
  const ceilingConfigs: CeilingConfig[] = (process.env.BENCH_CEILING ?? "2000x2,5000x2,2000x4")
    .split(",")
    .map((entry) => {
      const [size, inFlight] = entry.split("x").map(Number);
      return { size: size as number, inFlight: inFlight ?? 2 };
    });
  const describeConfig = ({ size, inFlight }: CeilingConfig) => `${size} docs per request, ${inFlight} in flight`;
  const ceilingRates: number[] = [];
  const ceilingStackCpu: Record<string, number>[] = [];
  // Where the machine's CPU goes per document: the stack's OpenSearch and Kafka processes (pids from the stack's
  // directory), so that a drain's ratio can be read against the ceiling's OpenSearch cost.
  const stackDir = resolve(root, process.env.STACK_DIR || ".stack");
  const stackPids = Object.fromEntries(
    ["opensearch", "kafka"].flatMap((name) => {
      try {
        return [[name, readFileSync(join(stackDir, `${name}.pid`), "utf8").trim()]];
      } catch {
        return [];
      }
    }),
  );
  const stackCpu = () => Object.fromEntries(Object.entries(stackPids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  /** Sends every document to _bulk `size` per request with `inFlight` requests open; docs/s and the stack's CPU. */
  const ceilingPass = async (round: string, { size, inFlight }: CeilingConfig) => {
    const index = `ceil${run}-${round.replaceAll(" ", "-")}-${size}x${inFlight}`;
    const bodyFor = (from: number) => {
      let body = "";
      for (let i = from; i < Math.min(records, from + size); i++) {
        body += `{"index":{"_index":"${index}","_id":"${topic}-c-${i}"}}\n${docs[i]}\n`;
      }
      return body;
    };
    const t = performance.now();
    const cpuBefore = stackCpu();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < records) {
          const from = next;
          next += size;
          const res = await fetch(`${opensearch}/_bulk?filter_path=errors`, {
            method: "POST",
            headers: { "content-type": "application/x-ndjson" },
            body: bodyFor(from),
          });
          const answer = (await res.json()) as { errors?: boolean };
          if (!res.ok || answer.errors !== false) throw new Error(`ceiling bulk failed: HTTP ${res.status}`);
        }
      }),
    );
    const rate = records / ((performance.now() - t) / 1000);
    const stackMicros = microsPerDoc(stackCpu(), cpuBefore, records);
    await fetch(`${opensearch}/${index}`, { method: "DELETE" }).catch(() => undefined);
    step(
      `ceiling (${round}), _bulk ${size} documents per request, ${inFlight} in flight: ${rate.toFixed(0)} docs/s; ` +
        `CPU per document (µs): ${describeMicros(stackMicros)}`,
    );
    return { rate, stackMicros };
  };
  // BENCH_CONSUMER_NODE_ARGS: extra node flags for the consumer (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof");
  // BENCH_CONSUMER_LOG_LEVEL: its LOG_LEVEL (default warn; info shows when it joined the group and got partitions).
  const nodeArgs = (process.env.BENCH_CONSUMER_NODE_ARGS ?? "").split(" ").filter(Boolean);

  /** One consumer process, in a group of its own, drains the topic from its start into a new index. */
  async function drain(round: number): Promise<Drain> {
    const metricsPort = await freePort();
    // The request size and concurrency the calibration found best for the ceiling, unless set.
    const bulkSize = Number(process.env.BENCH_BULK_SIZE ?? chosen.size);
    const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? chosen.inFlight);
    step(`round ${round}: draining with the consumer`);
    const started = performance.now();
    const consumer = spawn(process.execPath, [...nodeArgs, join(root, "apps/consumer/dist/main.js"), "consumer"], {
      env: {
        ...process.env,
        NODE_ENV: "production",
        LOG_LEVEL: process.env.BENCH_CONSUMER_LOG_LEVEL ?? "warn",
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_ELASTICSEARCH_URLS: opensearch,
        BARITO_KAFKA_TOPIC_PREFIX: prefix,
        BARITO_KAFKA_GROUP_ID: `benchc${run}-${round}`,
        BARITO_CONSUMER_DLQ_TOPIC: `benchc${run}_dlq`,
        BARITO_ELASTICSEARCH_BULK_SIZE: String(bulkSize),
        BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: String(inFlight),
        // What the consumer asks for at startup: room for two rounds of full bulks from one partition.
        BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS:
          process.env.BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS ?? String(Math.max(20_000, 2 * bulkSize * inFlight)),
        EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    // CPU seconds per thread group: the main thread, librdkafka's threads (rdk:*), V8's helpers (concurrent GC and
    // compilers), libuv's pool and the rest, to see where the consumer's CPU goes besides the JavaScript it runs.
    const threadCpu = () => {
      const groups: Record<string, number> = { main: 0, v8: 0, librdkafka: 0, libuv: 0, other: 0 };
      try {
        for (const tid of readdirSync(`/proc/${consumer.pid}/task`)) {
          const thread = procStat(`${consumer.pid}/task/${tid}`);
          if (thread === undefined) continue;
          const comm = thread.name;
          const group =
            tid === String(consumer.pid)
              ? "main"
              : comm.startsWith("rdk:")
                ? "librdkafka"
                : comm.startsWith("V8Worker")
                  ? "v8"
                  : comm.startsWith("libuv")
                    ? "libuv"
                    : "other";
          groups[group] = (groups[group] ?? 0) + thread.cpuSeconds;
        }
      } catch {}
      return groups;
    };
    let indexed = 0;
    // Steady state starts at the first indexed document: joining the group is not indexing throughput.
    let firstSeen:
      | { at: number; count: number; threads: Record<string, number>; stack: Record<string, number> }
      | undefined;
    const deadline = Date.now() + 600_000;
    // The drain proper starts when the consumer reports ready (/readyz: connected, subscribed, sink up): starting
    // Node, loading modules and connecting to Kafka are a restart's cost, not indexing throughput. Joining the group,
    // the first fetch and the first bulk (which creates the index, as the ceiling's first bulk does) are counted.
    let readyAt: number | undefined;
    const readiness = (async () => {
      while (readyAt === undefined && consumer.exitCode === null && Date.now() < deadline) {
        const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (ready) readyAt = performance.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let lastReport = 0;
    while (indexed < records && Date.now() < deadline) {
      // Every 100 ms from the index's indexing statistics, which count a document as soon as OpenSearch acknowledged
      // it: _count waits for a refresh (every second), which put up to two seconds on a run of less than ten.
      await new Promise((r) => setTimeout(r, 100));
      indexed = await indexedOperations(`${indexPrefix}-*`);
      if (!firstSeen && indexed > 0)
        firstSeen = { at: performance.now(), count: indexed, threads: threadCpu(), stack: stackCpu() };
      if (performance.now() - lastReport > 1000 || indexed >= records) {
        lastReport = performance.now();
        process.stdout.write(
          `\r[bench] consumer: ${indexed}/${records} documents, ${((performance.now() - started) / 1000).toFixed(1)}s   `,
        );
      }
    }
    process.stdout.write("\n");
    const drainedAt = performance.now();
    await readiness;
    // The statistics count operations (a retried document twice): the documents themselves must all be there.
    const stored = await count(`${indexPrefix}-*`, true);
    if (stored !== records) throw new Error(`the consumer indexed ${stored} documents of ${records}`);
    const steadyDocs = indexed - (firstSeen?.count ?? 0);
    const threadMicrosPerDoc = microsPerDoc(threadCpu(), firstSeen?.threads ?? {}, steadyDocs);
    const steadyStackMicros = microsPerDoc(stackCpu(), firstSeen?.stack ?? {}, steadyDocs);
    consumer.kill("SIGTERM");
    await new Promise((resolve) => consumer.once("exit", resolve));
    await fetch(`${opensearch}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);

    const result: Drain = {
      seconds: (drainedAt - started) / 1000,
      startSeconds: ((readyAt ?? drainedAt) - started) / 1000,
      firstDocumentSeconds: ((firstSeen?.at ?? drainedAt) - (readyAt ?? started)) / 1000,
      withStartRate: indexed / ((drainedAt - started) / 1000),
      drainRate: indexed / ((drainedAt - (readyAt ?? started)) / 1000),
      steadyRate: firstSeen ? steadyDocs / ((drainedAt - firstSeen.at) / 1000) : 0,
      cpuMicrosPerDoc: Object.values(threadMicrosPerDoc).reduce((sum, micros) => sum + micros, 0),
      threadMicrosPerDoc,
      stackMicrosPerDoc: steadyStackMicros,
    };
    step(
      `round ${round}: ${result.drainRate.toFixed(0)} docs/s from ready (${result.startSeconds.toFixed(2)} s until ` +
        `ready, first document indexed ${result.firstDocumentSeconds.toFixed(2)} s later), steady ` +
        `${result.steadyRate.toFixed(0)}; consumer CPU per document by thread (µs): ` +
        describeMicros(threadMicrosPerDoc) +
        `; stack CPU per document (µs): ${describeMicros(steadyStackMicros)}`,
    );
    return result;
  }

  // Rounds of ceiling, consumer, ceiling, consumer, ..., ceiling: each drain is set against the ceiling measured just
  // before and just after it, and the table shows the median round, since one round on a shared machine can be off
  // by a tenth either way.
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  let chosen = ceilingConfigs[0] as CeilingConfig;
  if (ceilingConfigs.length > 1) {
    let bestRate = 0;
    for (const config of ceilingConfigs) {
      const { rate } = await ceilingPass("calibration", config);
      if (rate > bestRate) [chosen, bestRate] = [config, rate];
    }
    step(`ceiling configuration: ${describeConfig(chosen)}`);
  }
  const measureCeiling = async (round: string) => {
    const { rate, stackMicros } = await ceilingPass(round, chosen);
    ceilingRates.push(rate);
    ceilingStackCpu.push(stackMicros);
  };
  await measureCeiling("before round 1");
  const drains: Drain[] = [];
  for (let round = 1; round <= rounds; round++) {
    drains.push(await drain(round));
    await measureCeiling(round === rounds ? "at the end" : `after round ${round}`);
  }
  await admin.deleteTopics([topic, `benchc${run}_dlq`]).catch(() => undefined);
  await Promise.allSettled([admin.close(), writer.close()]);

  const ceilingMean = ceilingRates.reduce((sum, rate) => sum + rate, 0) / ceilingRates.length;
  // A round's ceiling: the rates measured just before and just after it.
  const ceilingOf = (round: number) => ((ceilingRates[round] ?? 0) + (ceilingRates[round + 1] ?? 0)) / 2;
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  };
  const row = (scenario: string, rate: (drain: Drain) => number) => {
    const ratios = drains.map((drain, round) => rate(drain) / ceilingOf(round));
    const range = drains.length > 1 ? ` (rounds: ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")})` : "";
    console.log(`| ${scenario} | ${median(drains.map(rate)).toFixed(0)} | ${median(ratios).toFixed(2)}${range} |`);
  };
  console.log(`\n| scenario (median of ${rounds} rounds) | docs/s | × ceiling |\n| --- | ---: | ---: |`);
  row(
    `consumer draining ${records} records of ~500 B, 4 partitions (from ready to the last document indexed)`,
    (drain) => drain.drainRate,
  );
  row(
    `consumer, steady state (from the first indexed document; consumer CPU ${median(drains.map((drain) => drain.cpuMicrosPerDoc)).toFixed(1)} µs per document)`,
    (drain) => drain.steadyRate,
  );
  row(
    `consumer, including its process start (${median(drains.map((drain) => drain.startSeconds)).toFixed(2)} s until ready)`,
    (drain) => drain.withStartRate,
  );
  console.log(
    `| _bulk ceiling, same documents (${describeConfig(chosen)}, mean of ${ceilingRates.length} passes) | ${ceilingMean.toFixed(0)} | 1.00 |`,
  );
  // The machine is shared: what OpenSearch and Kafka spent per document under the consumer and under the ceiling's
  // client tells whether a lower ratio is the consumer's own CPU or OpenSearch working harder.
  const stackMedian = (samples: Record<string, number>[]) =>
    Object.fromEntries(
      Object.keys(samples[0] ?? {}).map((name) => [
        name,
        Number(median(samples.map((sample) => sample[name] ?? 0)).toFixed(1)),
      ]),
    );
  console.log(
    `\nCPU per document (µs, medians): consumer ${median(drains.map((drain) => drain.cpuMicrosPerDoc)).toFixed(1)}, ` +
      `stack under the consumer: ${describeMicros(stackMedian(drains.map((drain) => drain.stackMicrosPerDoc)))}; ` +
      `stack under the ceiling: ${describeMicros(stackMedian(ceilingStackCpu))}`,
  );
  const outDir = join(root, ".bench");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, `consumer-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify(
      {
        records,
        rounds: drains.map((drain, round) => ({ ...drain, ceiling: ceilingOf(round) })),
        consumerNodeArgs: nodeArgs,
        ceiling: { config: describeConfig(chosen), rate: ceilingMean, runs: ceilingRates, stackCpu: ceilingStackCpu },
      },
      null,
      2,
    ),
  );
}

interface Drain {
  seconds: number;
  startSeconds: number;
  /** From ready to the first document OpenSearch acknowledged (group join, first fetch, first bulk). */
  firstDocumentSeconds: number;
  withStartRate: number;
  drainRate: number;
  steadyRate: number;
  cpuMicrosPerDoc: number;
  threadMicrosPerDoc: Record<string, number>;
  /** CPU of the stack's OpenSearch and Kafka processes per document, in steady state. */
  stackMicrosPerDoc: Record<string, number>;
}
