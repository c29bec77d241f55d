// The faults themselves, one after the other: each starts when the traffic reaches its threshold, and the next one
// waits until this one is lifted and its recovery measured (bounded), so recovery times are attributable.
import { type StackConfig, startComponent, stopComponent } from "../stack/stack.ts";
import { type AppProcess, scrapeMetricSum } from "./apps.ts";
import type { Monitor } from "./monitor.ts";
import type { FaultKind } from "./options.ts";
import type { FaultGates, Plan } from "./plan.ts";
import type { FaultRecord } from "./report.ts";
import { say, since, sleep } from "./say.ts";
import type { Traffic } from "./traffic.ts";

export interface FaultTargets {
  producer: AppProcess;
  consumer: AppProcess;
  consumer2: AppProcess;
  producerMetricsPort: number;
  groupId: string;
  config: StackConfig;
  stackLog: (line: string) => void;
}

/** Injects one fault, lifts it after its hold, and records how the pipeline recovered. */
async function runFault(
  kind: FaultKind,
  record: FaultRecord,
  targets: FaultTargets,
  plan: Plan,
  traffic: Traffic,
  monitor: Monitor,
): Promise<void> {
  const { producer, consumer, consumer2, config, stackLog } = targets;
  const errorsAtStart = traffic.stats.errors;
  const lift = (note?: string) => {
    record.liftedAt = since();
    if (note) record.notes.push(note);
    return Date.now();
  };
  let liftedAt = Date.now();
  switch (kind) {
    case "consumer-kill":
    case "producer-kill": {
      const app = kind === "consumer-kill" ? consumer : producer;
      const pid = app.pid;
      await app.kill();
      record.notes.push(`${app.name} pid ${pid} SIGKILLed`);
      await sleep(plan.holdOf(kind) * 1000);
      liftedAt = lift();
      app.start();
      record.notes.push(`restarted as pid ${app.pid}`);
      break;
    }
    case "consumer2-start":
      liftedAt = lift();
      consumer2.start();
      record.notes.push(`second consumer pid ${consumer2.pid} joins group ${targets.groupId}`);
      break;
    case "consumer2-stop": {
      const pid = consumer2.pid;
      liftedAt = lift();
      const how = await consumer2.stop();
      record.notes.push(`second consumer pid ${pid} SIGTERM: ${how} (exit code ${consumer2.exitCode()})`);
      break;
    }
    case "opensearch-stop":
    case "kafka-stop":
    case "redis-stop":
    case "opensearch-kill":
    case "kafka-kill": {
      const component = kind.replace(/-(stop|kill)$/, "") as "opensearch" | "kafka" | "redis";
      // -stop: SIGTERM (clean shutdown); -kill: SIGKILL (a crash; data in the page cache survives).
      const outcome = await stopComponent(component, { config, log: stackLog, force: kind.endsWith("-kill") });
      record.notes.push(`${component} ${outcome}`);
      await sleep(plan.holdOf(kind) * 1000);
      if (kind === "redis-stop") {
        const fallback = await scrapeMetricSum(
          `http://127.0.0.1:${targets.producerMetricsPort}/metrics`,
          "barito_producer_rate_limiter_fallback_total",
        );
        record.notes.push(`producer rate_limiter_fallback_total=${fallback ?? "?"} while Redis was down`);
      }
      liftedAt = lift();
      const started = Date.now();
      await startComponent(component, { config, log: stackLog });
      record.restoredAt = since();
      record.notes.push(`${component} ready again after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      break;
    }
  }
  // Recovery (bounded): the first successful request after a fault of the producer path, the first document
  // indexed after a fault of the consumer path.
  const producerPath = kind === "producer-kill" || kind.startsWith("kafka") || kind === "redis-stop";
  const consumerPath = kind !== "producer-kill" && kind !== "redis-stop";
  const [ack, indexed] = await Promise.all([
    producerPath ? Promise.race([traffic.firstAckAfter(liftedAt), sleep(120_000).then(() => undefined)]) : undefined,
    consumerPath ? monitor.indexingResumedAfter(liftedAt, 120_000) : undefined,
  ]);
  if (ack !== undefined) record.firstAckAfterLift = Math.round((ack - liftedAt) / 100) / 10;
  if (indexed !== undefined) record.indexingResumedAfterLift = Math.round((indexed - liftedAt) / 100) / 10;
  record.clientErrors = traffic.stats.errors - errorsAtStart;
}

export interface FaultRun {
  /** One record per fault that started, in order. */
  records: FaultRecord[];
  /** The fault in progress ("" when none). */
  active: string;
  done: Promise<void>;
}

export function runFaults(
  faults: FaultKind[],
  targets: FaultTargets,
  plan: Plan,
  gates: FaultGates,
  traffic: Traffic,
  monitor: Monitor,
): FaultRun {
  return runSequence(
    faults,
    (kind, record) => runFault(kind, record, targets, plan, traffic, monitor),
    plan,
    (k) => gates.started(k),
    traffic,
  );
}

/**
 * Runs the faults one after the other, each once the traffic reached its threshold and the previous one is over;
 * `inject` does one fault, `started(k)` is told when fault k begins.
 */
export function runSequence(
  faults: FaultKind[],
  inject: (kind: FaultKind, record: FaultRecord) => Promise<void>,
  plan: Plan,
  started: (k: number) => void,
  traffic: Traffic,
): FaultRun {
  const run: FaultRun = { records: [], active: "", done: Promise.resolve() };
  run.done = (async () => {
    for (let k = 0; k < faults.length; k++) {
      const kind = faults[k] as FaultKind;
      while (traffic.progress < (plan.thresholds[k] as number) && !traffic.done) await sleep(100);
      const record: FaultRecord = {
        kind,
        plannedAt: plan.plannedAt(k),
        startedAt: since(),
        startedAtMs: Date.now(),
        notes: [],
      };
      run.records.push(record);
      run.active = kind;
      say(`FAULT ${k + 1}/${faults.length}: ${kind}`);
      started(k);
      await inject(kind, record).catch((error) => {
        record.notes.push(`fault failed: ${(error as Error).message}`);
      });
      record.endedAtMs = Date.now();
      run.active = "";
      say(
        `fault ${kind} lifted at ${record.liftedAt ?? "?"}s: first ack ${record.firstAckAfterLift === undefined ? "-" : `+${record.firstAckAfterLift}s`}, indexing resumed ${record.indexingResumedAfterLift === undefined ? "-" : `+${record.indexingResumedAfterLift}s`}, ${record.clientErrors ?? "?"} client errors`,
      );
    }
  })();
  return run;
}
