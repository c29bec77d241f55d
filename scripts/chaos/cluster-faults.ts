// The cluster run's faults (`pnpm chaos --cluster`): brokers killed, stopped and restarted (one, the controller, all
// in turn, two at once), a search node stopped or killed, the producer replicas restarted in turn under traffic and
// the consumer group scaled 1 → 3 → 1. Each fault records how the pipeline recovered, as the single-node ones do.
import { type StackConfig, startComponent, stopComponent } from "../stack/stack.ts";
import { type AppProcess, waitHttpOk } from "./apps.ts";
import type { ClusterKafka } from "./cluster-kafka.ts";
import type { Monitor } from "./monitor.ts";
import type { FaultKind } from "./options.ts";
import type { Plan } from "./plan.ts";
import type { FaultRecord } from "./report.ts";
import { since, sleep } from "./say.ts";
import type { Traffic } from "./traffic.ts";

export interface ClusterTargets {
  producers: { app: AppProcess; readyUrl: string }[];
  /** consumers[0] runs throughout; the others join at the scale-up and leave at the scale-down. */
  consumers: AppProcess[];
  kafka: ClusterKafka;
  kafkaTopics: string[];
  config: StackConfig;
  stackLog: (line: string) => void;
}

type Node = "kafka-1" | "kafka-2" | "kafka-3" | "opensearch-1" | "opensearch-2";
// opensearch-1 is the cluster manager (scripts/stack/cluster.ts): losing it would lose the cluster, not a node.
const SEARCH_NODE: Node = "opensearch-2";
const IN_SYNC_TIMEOUT_MS = 180_000;

export async function runClusterFault(
  kind: FaultKind,
  record: FaultRecord,
  targets: ClusterTargets,
  plan: Plan,
  traffic: Traffic,
  monitor: Monitor,
): Promise<void> {
  const { kafka, config, stackLog } = targets;
  const stop = (node: Node, force = false) => stopComponent(node, { config, cluster: true, log: stackLog, force });
  const start = async (node: Node) => {
    const started = Date.now();
    await startComponent(node, { config, cluster: true, log: stackLog });
    return ((Date.now() - started) / 1000).toFixed(1);
  };
  const inSync = async () => {
    const seconds = await kafka.waitInSync(IN_SYNC_TIMEOUT_MS);
    if (seconds === undefined) throw new Error(`partitions still under-replicated after ${IN_SYNC_TIMEOUT_MS / 1000}s`);
    record.notes.push(`no under-replicated partition after ${seconds}s`);
  };
  const errorsAtStart = traffic.stats.errors;
  let liftedAt = Date.now();
  const lift = () => {
    record.liftedAt = since();
    liftedAt = Date.now();
  };
  switch (kind) {
    case "leader-kill":
    case "controller-stop": {
      const nodeId =
        kind === "leader-kill" ? (await kafka.busiestLeader(targets.kafkaTopics))?.nodeId : await kafka.controller();
      if (nodeId === undefined) throw new Error("no broker answered the metadata/quorum request");
      const node = `kafka-${nodeId}` as Node;
      if (kind === "leader-kill") {
        const busiest = await kafka.busiestLeader(targets.kafkaTopics);
        record.notes.push(
          `${node} leads ${busiest?.partitions} partitions (${Math.round((busiest?.share ?? 0) * 100)}% of the traffic)`,
        );
      } else record.notes.push(`${node} is the active controller`);
      record.notes.push(`${node} ${await stop(node, kind === "leader-kill")}`);
      await sleep(plan.holdOf(kind) * 1000);
      lift();
      record.notes.push(`${node} ready after ${await start(node)}s`);
      record.restoredAt = since();
      if (kind === "controller-stop") record.notes.push(`controller now kafka-${await kafka.controller()}`);
      await inSync();
      break;
    }
    case "brokers-rolling":
      for (const nodeId of [1, 2, 3]) {
        const node = `kafka-${nodeId}` as Node;
        await stop(node);
        record.notes.push(`${node} stopped, ready after ${await start(node)}s`);
        await inSync();
      }
      lift();
      record.restoredAt = since();
      break;
    case "two-brokers-down": {
      // Brokers 2 and 3: acks=all with min.insync.replicas=2 cannot be met by broker 1 alone.
      const acksBefore = traffic.stats.acked;
      await Promise.all([stop("kafka-2", true), stop("kafka-3", true)]);
      const downAt = Date.now();
      record.notes.push("kafka-2 and kafka-3 SIGKILLed");
      await sleep(plan.holdOf(kind) * 1000);
      const acksWhileDown = attemptsOkBetween(traffic, downAt + 5_000, Date.now());
      record.notes.push(
        `${acksWhileDown} requests acknowledged from 5 s after the kill to the restart (${traffic.stats.acked - acksBefore} logs acknowledged since the fault began; the oracle checks each of them)`,
      );
      lift();
      const [two, three] = await Promise.all([start("kafka-2"), start("kafka-3")]);
      record.notes.push(`kafka-2 ready after ${two}s, kafka-3 after ${three}s`);
      record.restoredAt = since();
      await inSync();
      break;
    }
    case "opensearch-stop":
    case "opensearch-kill": {
      record.notes.push(`${SEARCH_NODE} ${await stop(SEARCH_NODE, kind === "opensearch-kill")}`);
      await sleep(plan.holdOf(kind) * 1000);
      lift();
      record.notes.push(`${SEARCH_NODE} ready after ${await start(SEARCH_NODE)}s`);
      record.restoredAt = since();
      break;
    }
    case "producers-rolling":
      for (const [index, { app, readyUrl }] of targets.producers.entries()) {
        const pid = app.pid;
        // As a Kubernetes Service does: the endpoint leaves the rotation when the pod is told to stop, and comes
        // back once its readiness probe passes (a just-started replica listens before it reached Kafka).
        traffic.setInRotation(index, false);
        const how = await app.stop();
        app.start();
        const ready = await waitHttpOk(readyUrl, 60_000);
        traffic.setInRotation(index, true);
        record.notes.push(
          `${app.name} pid ${pid} SIGTERM: ${how}, pid ${app.pid} ${ready ? "ready" : "NOT ready in 60 s"}`,
        );
        if (!ready) throw new Error(`${app.name} did not become ready again`);
      }
      lift();
      break;
    case "consumers-scale-up":
      lift();
      for (const consumer of targets.consumers.slice(1)) consumer.start();
      record.notes.push(`group 1 → ${targets.consumers.length} (${targets.consumers.map((c) => c.pid).join(", ")})`);
      break;
    case "consumers-scale-down": {
      lift();
      const outcomes = await Promise.all(targets.consumers.slice(1).map((c) => c.stop()));
      record.notes.push(`group ${targets.consumers.length} → 1 (SIGTERM: ${outcomes.join(", ")})`);
      break;
    }
    default:
      throw new Error(`${kind} is not a cluster fault`);
  }
  const producerPath = !kind.startsWith("opensearch") && !kind.startsWith("consumers");
  const [ack, indexed] = await Promise.all([
    producerPath ? firstAck(traffic, liftedAt) : undefined,
    indexingResumed(monitor, traffic, liftedAt),
  ]);
  if (ack !== undefined) record.firstAckAfterLift = Math.round((ack - liftedAt) / 100) / 10;
  if (indexed !== undefined) record.indexingResumedAfterLift = Math.round((indexed - liftedAt) / 100) / 10;
  // A scale step's rebalance shows after the step: give it a few seconds of traffic inside the fault's bounds.
  if (kind.startsWith("consumers")) await sleep(10_000);
  record.clientErrors = traffic.stats.errors - errorsAtStart;
}

/**
 * When indexing resumed after `liftedAt`; `liftedAt` itself when there was nothing left to index then (a search node
 * lost while its shards have replicas need not stop indexing, and the traffic may be waiting for the next fault).
 */
async function indexingResumed(monitor: Monitor, traffic: Traffic, liftedAt: number): Promise<number | undefined> {
  const idle = (async () => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (monitor.indexed >= traffic.stats.acked) return liftedAt;
      await sleep(500);
    }
    return undefined;
  })();
  return Promise.race([monitor.indexingResumedAfter(liftedAt, 120_000), idle]);
}

/** The first acknowledgement after `liftedAt`; undefined when none comes in 120 s or no request can come. */
async function firstAck(traffic: Traffic, liftedAt: number): Promise<number | undefined> {
  const held = (async () => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !traffic.held) await sleep(500);
    return undefined;
  })();
  return Promise.race([traffic.firstAckAfter(liftedAt), held]);
}

/** Successful attempts sent and answered within [from, to]. */
function attemptsOkBetween(traffic: Traffic, from: number, to: number): number {
  const { sentAt, endedAt, ok } = traffic.attempts;
  let n = 0;
  for (let i = 0; i < ok.length; i++) if (ok[i] && (sentAt[i] as number) >= from && (endedAt[i] as number) <= to) n++;
  return n;
}
