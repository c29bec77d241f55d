// `pnpm chaos`: the end-to-end oracle of the delivery contract. Starts a PRIVATE stack (own directory and ports, so
// the default stack other tests use is never touched), the built producer and consumer as child processes, drives N
// uniquely identified logs through every protocol while faults are injected (apps SIGKILLed and restarted, Kafka,
// OpenSearch and Redis stopped and started, a second consumer joining and leaving), waits for the consumer to
// catch up, then reads everything back from OpenSearch: every acknowledged log exactly once with its content
// intact, failed ones absent or present once, nothing else. Exit 0 only if every invariant holds.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../lib/ports.ts";
import { loadConfig, resetStack, type StackConfig, stackDown, stackUp } from "../stack/stack.ts";
import { AppProcess, claimStackDir, waitHttpOk } from "./apps.ts";
import type { TopicSpec } from "./content.ts";
import { runFaults } from "./faults.ts";
import { Monitor } from "./monitor.ts";
import { parseOptions } from "./options.ts";
import { FaultGates, planFaults } from "./plan.ts";
import * as setup from "./run-setup.ts";
import { fmt, say, startClock } from "./say.ts";
import { Traffic } from "./traffic.ts";
import { catchUp, judge } from "./verdict.ts";
import { KafkaProbe } from "./verify.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), root);
  if (options.cluster) return (await import("./cluster.ts")).runCluster(options, root);
  const t0 = startClock();
  const run = `c${Date.now().toString(36)}`;
  mkdirSync(options.outDir, { recursive: true });
  const plan = planFaults(options);
  const { rate, plannedSeconds } = plan;

  const [
    kafkaPort,
    controllerPort,
    opensearchPort,
    redisPort,
    restPort,
    grpcPort,
    producerMetrics,
    c1Metrics,
    c2Metrics,
  ] = (await freePorts(9)) as [number, number, number, number, number, number, number, number, number];
  const stackEnv = {
    ...process.env,
    STACK_DIR: options.stackDir,
    STACK_KAFKA_PORT: String(kafkaPort),
    STACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
    STACK_OPENSEARCH_PORT: String(opensearchPort),
    STACK_REDIS_PORT: String(redisPort),
    // No SASL listener (its default port belongs to the default stack).
    STACK_KAFKA_SASL_PORT: "",
    STACK_KAFKA_HEAP: process.env.CHAOS_KAFKA_HEAP ?? "384m",
    STACK_OPENSEARCH_HEAP: process.env.CHAOS_OPENSEARCH_HEAP ?? "512m",
  };
  const config: StackConfig = loadConfig(stackEnv);
  const stackLog = (line: string) => say(`stack: ${line}`);
  const brokers = `127.0.0.1:${kafkaPort}`;
  const opensearch = `http://127.0.0.1:${opensearchPort}`;
  const restUrl = `http://127.0.0.1:${restPort}`;
  const topics: TopicSpec[] = [
    { kafkaTopic: "orders", partitions: 3, indexPrefix: "chaos-orders", appMaxTps: 1_000_000 },
    { kafkaTopic: "payments", partitions: 2, indexPrefix: "chaos-payments", appMaxTps: 1_000_000 },
    { kafkaTopic: "audit", partitions: 1, indexPrefix: "chaos-audit", appMaxTps: 1_000_000 },
    // Rate-limited near its share of the traffic: bursts after outages meet 429 / RESOURCE_EXHAUSTED. The window
    // (10 s × tps) must hold the largest batch twice: a batch larger than the window is refused forever (FINDINGS.md).
    {
      kafkaTopic: "search",
      partitions: 4,
      indexPrefix: "chaos-search",
      appMaxTps: Math.max(Math.ceil(options.maxBatch / 5), Math.ceil((rate / 4) * 1.5)),
    },
  ];
  const { topicPrefix, dlqTopic, groupId } = setup;
  const kafkaTopics = topics.map((t) => `${topicPrefix}${t.kafkaTopic}_logs`);

  say(
    `run ${run}: ${options.logs} logs at ~${fmt(rate)} logs/s (${plannedSeconds}s planned), faults: ${options.faults.join(", ") || "none"}; seed ${options.seed}`,
  );
  say(`run directory ${options.outDir}`);

  const { apps, unexpectedExits, supervise, stackStarted, cleanup } = setup.runLifecycle(options, {
    name: "private stack",
    down: () => stackDown({ config, log: stackLog }),
  });

  try {
    if (options.build) setup.buildApps(root);
    say(
      `private stack in ${options.stackDir}: Kafka :${kafkaPort}, OpenSearch :${opensearchPort}, Redis :${redisPort}`,
    );
    claimStackDir(options.stackDir);
    stackStarted();
    await resetStack({ config, log: stackLog });
    await stackUp({ config, log: stackLog });

    const commonEnv = setup.commonAppEnv(brokers);
    const producer = new AppProcess({
      name: "producer",
      root,
      app: "producer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: setup.producerEnv(
        commonEnv,
        { host: "127.0.0.1", rest: restPort, grpc: grpcPort, metrics: producerMetrics },
        `127.0.0.1:${redisPort}`,
        run,
      ),
    });
    const consumerAt = (metricsPort: number) => setup.consumerEnv(commonEnv, opensearch, `127.0.0.1:${metricsPort}`);
    const consumer = new AppProcess({
      name: "consumer",
      root,
      app: "consumer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: consumerAt(c1Metrics),
    });
    const consumer2 = new AppProcess({
      name: "consumer2",
      root,
      app: "consumer",
      logDir: options.outDir,
      onUnexpectedExit: supervise,
      env: consumerAt(c2Metrics),
    });
    apps.push(producer, consumer, consumer2);
    producer.start();
    consumer.start();
    if (!(await waitHttpOk(`${restUrl}/readyz`, 60_000))) throw new Error("the producer did not become ready in 60 s");
    if (!(await waitHttpOk(`http://127.0.0.1:${c1Metrics}/healthz`, 60_000)))
      throw new Error("the consumer did not answer /healthz in 60 s");
    say(`producer (pid ${producer.pid}) and consumer (pid ${consumer.pid}) running`);

    const gates = new FaultGates(plan.thresholds);
    const traffic = new Traffic({
      root,
      run,
      logs: options.logs,
      rate,
      concurrency: options.concurrency,
      maxBatch: options.maxBatch,
      keyedShare: options.keyedShare,
      topics,
      replicas: [{ restUrl, grpcUrl: `http://127.0.0.1:${grpcPort}` }],
      gate: gates.gate,
      requestDeadlineMs: 300_000,
      seed: options.seed,
    });

    // The monitor shows the fault in progress; the faults ask the monitor when indexing resumed.
    let activeFault = (): string => "";
    const monitor = new Monitor({
      consumers: [
        [consumer, c1Metrics],
        [consumer2, c2Metrics],
      ],
      opensearch,
      traffic,
      logs: options.logs,
      activeFault: () => activeFault(),
    });
    const faults = runFaults(
      options.faults,
      { producer, consumer, consumer2, producerMetricsPort: producerMetrics, groupId, config, stackLog },
      plan,
      gates,
      traffic,
      monitor,
    );
    activeFault = () => faults.active;

    say(`traffic: ${options.concurrency} concurrent requests, batches of 1..${options.maxBatch}`);
    await traffic.run();
    say(
      `traffic done: ${traffic.stats.acked} acknowledged, ${traffic.stats.failed} failed, ${traffic.stats.rejected} rejected, ${traffic.stats.resentLogs} resent under new ids`,
    );
    await faults.done;

    const probe = new KafkaProbe(root, brokers);
    const caughtUp = await catchUp(probe, opensearch, groupId, kafkaTopics, traffic, options.catchupTimeoutSeconds);
    await monitor.stop();
    const report = await judge({
      run,
      t0,
      options,
      rate,
      plannedSeconds,
      ports: { kafka: kafkaPort, opensearch: opensearchPort, redis: redisPort, rest: restPort, grpc: grpcPort },
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
    setup.writeReport(report, options);
    return report.passed ? 0 : 1;
  } finally {
    await cleanup();
  }
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(`[chaos] error: ${(error as Error).stack ?? error}`);
      process.exit(3);
    },
  );
}
