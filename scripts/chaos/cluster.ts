// `pnpm chaos --cluster`: the delivery oracle on a cluster. A PRIVATE `stack --cluster` (3 KRaft brokers with RF 3
// and min.insync.replicas 2, 2 OpenSearch nodes, Redis; own directory and free ports), 3 producer replicas behind
// the traffic generator's round robin and a consumer group of 1 to 3 replicas, all child processes of the built
// apps. Faults from cluster-faults.ts while traffic flows; then the same verdict as the single-node run, plus the
// per-fault client figures, the copies of each log in Kafka itself and the CPU each kind of process spent.
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { freePorts } from "../lib/ports.ts";
import { loadConfig, resetStack, stackDown, stackStatus, stackUp } from "../stack/stack.ts";
import { AppProcess, claimStackDir, waitHttpOk } from "./apps.ts";
import { runClusterFault } from "./cluster-faults.ts";
import { ClusterKafka, countKafkaCopies } from "./cluster-kafka.ts";
import { faultClientFigures } from "./cluster-report.ts";
import type { TopicSpec } from "./content.ts";
import { runSequence } from "./faults.ts";
import { Monitor } from "./monitor.ts";
import type { Options } from "./options.ts";
import { FaultGates, planFaults } from "./plan.ts";
import type { FaultRecord } from "./report.ts";
import * as setup from "./run-setup.ts";
import { fmt, say, since, sleep, startClock } from "./say.ts";
import { Traffic } from "./traffic.ts";
import { catchUp, judge } from "./verdict.ts";
import { KafkaProbe } from "./verify.ts";

const host = "127.0.0.1";

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The cluster's port block (node i on base + i - 1), below the ephemeral range, every port of it free. */
async function freeBlock(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 900) * 11;
    const all = Array.from({ length: 11 }, (_, offset) => base + offset);
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return base;
  }
  throw new Error("no free block of 11 ports found");
}

/** utime + stime of a process in seconds (/proc), 0 when it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export async function runCluster(options: Options, root: string): Promise<number> {
  const t0 = startClock();
  const run = `c${Date.now().toString(36)}`;
  mkdirSync(options.outDir, { recursive: true });
  // The faults follow each other with `gap` seconds between them (cluster.ts waits), from the first one on: the
  // first threshold alone gates them; the traffic's pace adapts to the schedule instead (rateNow below).
  const planned = planFaults(options);
  const plan = { ...planned, thresholds: planned.thresholds.map(() => planned.thresholds[0] ?? 0) };
  const { rate, plannedSeconds } = plan;
  const base = await freeBlock();
  const appPorts = await freePorts(3 * 3 + 3);
  const stackEnv = {
    ...process.env,
    STACK_CLUSTER_DIR: options.stackDir,
    STACK_CLUSTER_KAFKA_PORT: String(base),
    STACK_CLUSTER_KAFKA_CONTROLLER_PORT: String(base + 3),
    STACK_CLUSTER_OPENSEARCH_PORT: String(base + 6),
    STACK_CLUSTER_OPENSEARCH_TRANSPORT_PORT: String(base + 8),
    STACK_CLUSTER_REDIS_PORT: String(base + 10),
  };
  const config = loadConfig(stackEnv);
  const stackOptions = { config, cluster: true, log: (line: string) => say(`stack: ${line}`) };
  const brokers = [0, 1, 2].map((i) => `${host}:${base + i}`);
  const opensearchUrls = [0, 1].map((i) => `http://${host}:${base + 6 + i}`);
  const opensearch = opensearchUrls[0] as string;
  // No rate-limited topic here: a 429 would blur the per-fault error figures (the single-node run covers it).
  const all: TopicSpec[] = [
    { kafkaTopic: "orders", partitions: 6, indexPrefix: "chaos-orders", appMaxTps: 10_000_000, replicationFactor: 3 },
    {
      kafkaTopic: "payments",
      partitions: 3,
      indexPrefix: "chaos-payments",
      appMaxTps: 10_000_000,
      replicationFactor: 3,
    },
    { kafkaTopic: "audit", partitions: 1, indexPrefix: "chaos-audit", appMaxTps: 10_000_000, replicationFactor: 3 },
    { kafkaTopic: "search", partitions: 2, indexPrefix: "chaos-search", appMaxTps: 10_000_000, replicationFactor: 3 },
  ];
  const topics = options.onePartition ? [{ ...(all[0] as TopicSpec), partitions: 1 }] : all;
  const { topicPrefix, dlqTopic, groupId } = setup;
  const kafkaTopics = topics.map((t) => `${topicPrefix}${t.kafkaTopic}_logs`);
  const consumerCount = options.faults.includes("consumers-scale-up") ? 3 : options.consumers;
  const producerCount = options.producers;

  say(
    `cluster run ${run}: ${options.logs} logs at ~${fmt(rate)} logs/s (${plannedSeconds}s planned), ${producerCount} producers, ${consumerCount} consumers, faults: ${options.faults.join(", ") || "none"}; seed ${options.seed}`,
  );
  say(`run directory ${options.outDir}; cluster in ${options.stackDir}, ports ${base}..${base + 10}`);

  const { apps, unexpectedExits, supervise, stackStarted, cleanup } = setup.runLifecycle(options, {
    name: "private cluster",
    down: () => stackDown({ ...stackOptions, force: true }),
  });

  try {
    if (options.build) setup.buildApps(root);
    claimStackDir(options.stackDir);
    stackStarted();
    await resetStack(stackOptions);
    await stackUp(stackOptions);

    const commonEnv = setup.commonAppEnv(brokers.join(","));
    const producers = Array.from({ length: producerCount }, (_, i) => {
      const [rest, grpc, metrics] = appPorts.slice(i * 3, i * 3 + 3) as [number, number, number];
      const app = new AppProcess({
        name: `producer${i + 1}`,
        root,
        app: "producer",
        logDir: options.outDir,
        onUnexpectedExit: supervise,
        env: setup.producerEnv(commonEnv, { host, rest, grpc, metrics }, `${host}:${base + 10}`, run),
      });
      return {
        app,
        restUrl: `http://${host}:${rest}`,
        grpcUrl: `http://${host}:${grpc}`,
        readyUrl: `http://${host}:${rest}/readyz`,
      };
    });
    const consumerMetrics = appPorts.slice(9, 12) as number[];
    const consumers = Array.from(
      { length: consumerCount },
      (_, i) =>
        new AppProcess({
          name: `consumer${i + 1}`,
          root,
          app: "consumer",
          logDir: options.outDir,
          onUnexpectedExit: supervise,
          env: setup.consumerEnv(commonEnv, opensearchUrls.join(","), `${host}:${consumerMetrics[i]}`),
        }),
    );
    apps.push(...producers.map((p) => p.app), ...consumers);
    for (const p of producers) p.app.start();
    // With a scale-up planned the group starts at one member; for sizing (no faults) every replica runs throughout.
    const initialConsumers = options.faults.includes("consumers-scale-up") ? consumers.slice(0, 1) : consumers;
    for (const c of initialConsumers) c.start();
    for (const p of producers)
      if (!(await waitHttpOk(p.readyUrl, 90_000))) throw new Error(`${p.app.name} did not become ready in 90 s`);
    for (const [i, c] of initialConsumers.entries())
      if (!(await waitHttpOk(`http://${host}:${consumerMetrics[i]}/healthz`, 90_000)))
        throw new Error(`${c.name} did not answer /healthz in 90 s`);
    say(
      `producers ${producers.map((p) => p.app.pid).join(", ")} and consumers ${initialConsumers.map((c) => c.pid).join(", ")} running`,
    );

    // The traffic flows through the faults unheld (a long fault must meet a busy pipeline, not a paused one), paced
    // at `rate` without catch-up bursts; only the last 5% of the logs waits until the last fault began, so that
    // every fault meets traffic.
    const tail = Math.floor(options.logs * 0.95);
    const gates = new FaultGates(options.faults.length > 0 ? [tail] : []);
    let faultRecords = (): FaultRecord[] => [];
    const traffic: Traffic = new Traffic({
      root,
      run,
      logs: options.logs,
      rate,
      concurrency: options.concurrency,
      maxBatch: options.maxBatch,
      keyedShare: options.keyedShare,
      topics,
      replicas: producers.map(({ restUrl, grpcUrl }) => ({ restUrl, grpcUrl })),
      gate: gates.gate,
      pacing: "rate",
      // At most `rate`, and no faster than spreads the logs left over the plan's time left for the faults not yet
      // over, so that the last faults meet traffic too (a fault running longer than planned slows it further).
      rateNow: (): number => {
        const over = faultRecords().filter((r) => r.endedAtMs !== undefined).length;
        if (over >= options.faults.length) return rate;
        const left = plannedSeconds - plan.plannedAt(over);
        return Math.min(rate, Math.max(100, (options.logs - traffic.progress) / Math.max(10, left)));
      },
      requestDeadlineMs: 300_000,
      seed: options.seed,
    });
    let activeFault = (): string => "";
    const monitor = new Monitor({
      consumers: consumers.map((c, i) => [c, consumerMetrics[i] as number] as const),
      opensearch,
      traffic,
      logs: options.logs,
      activeFault: () => activeFault(),
    });
    const kafka = new ClusterKafka(base);
    const targets = {
      producers: producers.map(({ app, readyUrl }) => ({ app, readyUrl })),
      consumers,
      kafka,
      kafkaTopics,
      config,
      stackLog: stackOptions.log,
    };
    const faults = runSequence(
      options.faults,
      async (kind, record) => {
        if (record !== faultRecords()[0]) await sleep(options.gapSeconds * 1000);
        record.startedAt = since();
        record.startedAtMs = Date.now();
        await runClusterFault(kind, record, targets, plan, traffic, monitor);
      },
      plan,
      // The tail goes once the last fault begins: it meets that fault and measures its recovery.
      (k) => {
        if (k === options.faults.length - 1) gates.started(0);
      },
      traffic,
    );
    activeFault = () => faults.active;
    faultRecords = () => faults.records;

    // CPU of every process of the pipeline over the traffic (apps summed over their restarts is not possible from
    // /proc: a restarted app's earlier CPU is lost, so the figure is meant for runs without app faults: sizing).
    const status = await stackStatus({ ...stackOptions, includeOptIn: false });
    const pidsOf = (prefixName: string) => status.filter((s) => s.name.startsWith(prefixName)).map((s) => s.pid);
    const cpuOf = () => ({
      producers: producers.reduce((sum, p) => sum + cpuSeconds(p.app.pid), 0),
      consumers: consumers.reduce((sum, c) => sum + cpuSeconds(c.pid), 0),
      brokers: pidsOf("kafka").reduce((sum: number, pid) => sum + cpuSeconds(pid), 0),
      opensearch: pidsOf("opensearch").reduce((sum: number, pid) => sum + cpuSeconds(pid), 0),
    });
    // Sizing (no faults): 10 s of the idle pipeline first, so that each process's background CPU (probes, client
    // threads, JVM housekeeping) can be taken out of the per-log figures.
    const sizing = options.faults.length === 0;
    const idleStart = cpuOf();
    if (sizing) await sleep(10_000);
    const cpuBefore = cpuOf();
    const idlePerSecond = (name: keyof typeof cpuBefore) => (sizing ? (cpuBefore[name] - idleStart[name]) / 10 : 0);
    const measuredFrom = Date.now();
    say(
      `traffic: ${options.concurrency} concurrent requests over ${producers.length} producers, batches of 1..${options.maxBatch}`,
    );
    const trafficStarted = Date.now();
    await traffic.run();
    const trafficSeconds = (Date.now() - trafficStarted) / 1000;
    const cpuTrafficEnd = cpuOf();
    say(
      `traffic done in ${trafficSeconds.toFixed(1)}s: ${traffic.stats.acked} acknowledged, ${traffic.stats.failed} failed, ${traffic.stats.rejected} rejected, ${traffic.stats.resentLogs} resent under new ids`,
    );
    await faults.done;

    const probe = new KafkaProbe(root, brokers.join(","));
    const caughtUp = await catchUp(probe, opensearch, groupId, kafkaTopics, traffic, options.catchupTimeoutSeconds);
    const cpuAfter = cpuOf();
    const measuredSeconds = (Date.now() - measuredFrom) / 1000;
    await monitor.stop();
    for (const record of faults.records) record.client = faultClientFigures(record, traffic.attempts, monitor);

    say("counting the copies of every log in Kafka");
    let expected = 0;
    for (const topic of kafkaTopics) expected += await probe.topicRecords(topic).catch(() => 0);
    const kafkaCopies = await countKafkaCopies({
      root,
      brokers,
      topics: kafkaTopics,
      run,
      expected,
      capacity: traffic.nextExtra,
      retried: traffic.retried,
      timeoutMs: 300_000,
    }).catch((error) => {
      say(`counting Kafka copies failed: ${(error as Error).message}`);
      return undefined;
    });

    const report = await judge({
      run,
      t0,
      options,
      rate,
      plannedSeconds,
      ports: { kafka: base, opensearch: base + 6, redis: base + 10 },
      opensearch,
      dlqTopic,
      topics,
      traffic,
      probe,
      catchUp: caughtUp,
      faults: faults.records,
      unexpectedExits,
      samples: monitor.samples,
    }).finally(() => probe.close());
    // Producers work while the traffic flows; the consumers, brokers and search nodes until the group caught up.
    const perLog = (seconds: number) => Math.round((seconds / Math.max(1, traffic.stats.acked)) * 1e7) / 10;
    const cpu = Object.fromEntries(
      (Object.keys(cpuAfter) as (keyof typeof cpuAfter)[]).map((name) => {
        const end = name === "producers" ? cpuTrafficEnd : cpuAfter;
        const window = name === "producers" ? trafficSeconds : measuredSeconds;
        const seconds = end[name] - cpuBefore[name];
        const idle = idlePerSecond(name) * window;
        return [
          name,
          {
            seconds: Math.round(seconds * 10) / 10,
            idleSeconds: Math.round(idle * 10) / 10,
            perLogMicros: perLog(seconds),
            netPerLogMicros: perLog(Math.max(0, seconds - idle)),
          },
        ];
      }),
    );
    const duplicatesInKafka = kafkaCopies?.duplicatesOfSingleAttempts;
    report.invariants.push({
      name: "Kafka holds no duplicate of a log sent once",
      ok: duplicatesInKafka === 0 && kafkaCopies !== undefined && kafkaCopies.records >= expected,
      detail:
        kafkaCopies === undefined
          ? "not counted"
          : `${duplicatesInKafka} duplicates; ${kafkaCopies.records}/${expected} records read`,
    });
    report.passed = report.invariants.every((i) => i.ok);
    const full = {
      ...report,
      cluster: {
        producers: producerCount,
        consumers: consumerCount,
        brokers: 3,
        searchNodes: 2,
        trafficSeconds: Math.round(trafficSeconds * 10) / 10,
        offeredRate: Math.round(traffic.stats.logsSent / trafficSeconds),
        ackedRate: Math.round(traffic.stats.acked / trafficSeconds),
        redirected: traffic.stats.redirected,
        kafkaCopies,
        // A restarted process starts its CPU count again: the figures hold for runs without faults (sizing).
        ...(options.faults.length === 0 ? { cpu } : {}),
      },
    };
    setup.writeReport(full, options);
    return full.passed ? 0 : 1;
  } finally {
    await cleanup();
  }
}
