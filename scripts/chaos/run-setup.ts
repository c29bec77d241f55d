// What the single-node run (chaos.ts) and the cluster run (cluster.ts) set up alike: the build, the apps'
// environment, the supervision that restarts an app which exited on its own, the cleanup that stops what the run
// started (on its end or on SIGINT/SIGTERM), and the report files.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AppProcess, UnexpectedExit } from "./apps.ts";
import type { Options } from "./options.ts";
import { printReport } from "./report.ts";
import { say } from "./say.ts";

export const topicPrefix = "chaos_";
export const dlqTopic = "chaos_dlq";
export const groupId = "chaos";

export function buildApps(root: string): void {
  say("building producer and consumer (turbo, cached)");
  execFileSync(
    "pnpm",
    ["turbo", "run", "build", "--filter=producer...", "--filter=consumer...", "--output-logs=errors-only"],
    { cwd: root, stdio: "inherit" },
  );
}

/** The environment of every app of the run; `brokers` is the bootstrap list. */
export const commonAppEnv = (brokers: string): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: "production",
  LOG_LEVEL: process.env.CHAOS_APP_LOG_LEVEL ?? "warn",
  BARITO_KAFKA_BROKERS: brokers,
  BARITO_KAFKA_TOPIC_PREFIX: topicPrefix,
  BARITO_NEW_TOPIC_EVENT: "chaos_new_topic_events",
});

/** A producer on `host`'s ports, its limits shared through the run's Redis under keys of this run. */
export function producerEnv(
  common: NodeJS.ProcessEnv,
  listen: { host: string; rest: number; grpc: number; metrics: number },
  redis: string,
  run: string,
): NodeJS.ProcessEnv {
  return {
    ...common,
    BARITO_PRODUCER_REST: `${listen.host}:${listen.rest}`,
    BARITO_PRODUCER_GRPC: `${listen.host}:${listen.grpc}`,
    EXPORTER_PORT: `${listen.host}:${listen.metrics}`,
    BARITO_RATE_LIMITER_OPT: "REDIS",
    BARITO_REDIS_URL: redis,
    BARITO_REDIS_KEY_PREFIX: `chaos:${run}:`,
  };
}

/** A member of the run's consumer group, indexing into `opensearchUrls` (comma-separated). */
export function consumerEnv(common: NodeJS.ProcessEnv, opensearchUrls: string, metrics: string): NodeJS.ProcessEnv {
  return {
    ...common,
    BARITO_ELASTICSEARCH_URLS: opensearchUrls,
    BARITO_KAFKA_GROUP_ID: groupId,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
    BARITO_ELASTICSEARCH_BULK_SIZE: "1000",
    BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
    EXPORTER_PORT: metrics,
  };
}

export interface RunLifecycle {
  /** The run's apps, in the order they were made; cleanup stops them all. */
  apps: AppProcess[];
  unexpectedExits: UnexpectedExit[];
  /** The apps' onUnexpectedExit: records the exit and restarts the app a second later, unless the run is ending. */
  supervise: (exit: UnexpectedExit) => void;
  /** From here on, cleanup stops the private stack too (unless --keep-stack). */
  stackStarted(): void;
  /** Stops the apps, then the stack; once, however often it is called. */
  cleanup: () => Promise<void>;
}

/** The run's supervision and cleanup; a first SIGINT/SIGTERM cleans up and exits 130, a second exits at once. */
export function runLifecycle(options: Options, stack: { name: string; down: () => Promise<unknown> }): RunLifecycle {
  const apps: AppProcess[] = [];
  let stackUp = false;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await Promise.all(apps.map((app) => app.stop(15_000).catch(() => undefined)));
      for (const app of apps) app.close();
      if (stackUp && !options.keepStack) {
        say(`stopping the ${stack.name}`);
        await stack.down().catch((error) => say(`stack down failed: ${error}`));
      }
    })();
    return cleaning;
  };
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      say(`${signal}: stopping what this run started`);
      void cleanup().then(() => process.exit(130));
    });
  }
  const unexpectedExits: UnexpectedExit[] = [];
  const supervise = (exit: UnexpectedExit) => {
    unexpectedExits.push(exit);
    say(`!! ${exit.app} exited on its own (code ${exit.code}, signal ${exit.signal}); restarting it`);
    const app = apps.find((a) => a.name === exit.app);
    setTimeout(() => {
      if (app && !interrupted && !cleaning) app.start();
    }, 1_000);
  };
  return {
    apps,
    unexpectedExits,
    supervise,
    stackStarted: () => {
      stackUp = true;
    },
    cleanup,
  };
}

/** report.json in the run directory (and a copy at --report), then the report on the console. */
export function writeReport(report: { passed: boolean }, options: Options): void {
  const reportFile = join(options.outDir, "report.json");
  writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (options.report) {
    mkdirSync(dirname(options.report), { recursive: true });
    copyFileSync(reportFile, options.report);
  }
  printReport(report);
  say(`report: ${reportFile}${options.report ? ` (and ${options.report})` : ""}`);
}
