// The fault schedule: each fault gets its outage, the expected recovery and a gap of traffic; the sender is paced
// so the traffic spans the plan, and logs past fault k's threshold wait until fault k has started.
import type { FaultKind, Options } from "./options.ts";

export interface Plan {
  /** Seconds a fault keeps its component down (or its process dead). */
  holdOf(kind: FaultKind): number;
  /** Seconds from the run's start at which fault k is planned. */
  plannedAt(k: number): number;
  plannedSeconds: number;
  /** Logs per second the traffic is paced at. */
  rate: number;
  /** The log sequence number at which fault k starts. */
  thresholds: number[];
}

export function planFaults(options: Options): Plan {
  const outage: Partial<Record<FaultKind, number>> = {
    "opensearch-stop": options.opensearchDownSeconds,
    "opensearch-kill": options.opensearchDownSeconds,
    "kafka-stop": options.kafkaDownSeconds,
    "kafka-kill": options.kafkaDownSeconds,
    "redis-stop": options.redisDownSeconds,
    "consumer-kill": 2,
    "producer-kill": 1,
    "leader-kill": 5,
    "controller-stop": 5,
    "two-brokers-down": 15,
  };
  // A SIGKILLed search node comes back at once in the cluster run (its replicas carry on meanwhile).
  const holdOf = (kind: FaultKind): number =>
    options.cluster && kind === "opensearch-kill" ? 10 : (outage[kind] ?? 0);
  // Expected time from lift to recovery on this machine (component boot, group session timeout after a SIGKILL,
  // re-replication): part of each fault's slot, so the paced traffic rarely has to wait for the schedule.
  const recovery: Partial<Record<FaultKind, number>> = {
    "opensearch-stop": 20,
    "opensearch-kill": 20,
    "kafka-stop": 12,
    "kafka-kill": 12,
    "consumer-kill": 20,
    "leader-kill": 25,
    "controller-stop": 25,
    "two-brokers-down": 35,
    "brokers-rolling": 100,
    "producers-rolling": 20,
  };
  const recoveryOf = (kind: FaultKind): number => recovery[kind] ?? 2;
  const slots = options.faults.map((kind) => holdOf(kind) + recoveryOf(kind) + options.gapSeconds);
  const plannedSeconds = options.gapSeconds + slots.reduce((a, b) => a + b, 0);
  const rate = options.rate ?? Math.max(50, options.logs / plannedSeconds);
  const thresholds: number[] = [];
  let acc = options.gapSeconds;
  for (const slot of slots) {
    thresholds.push(Math.floor((acc / plannedSeconds) * options.logs));
    acc += slot;
  }
  const plannedAt = (k: number) =>
    Math.round((options.gapSeconds + slots.slice(0, k).reduce((a, b) => a + b, 0)) * 10) / 10;
  return { holdOf, plannedAt, plannedSeconds, rate, thresholds };
}

/** One latch per fault: the traffic's gate waits on fault k's latch for the logs past its threshold. */
export class FaultGates {
  private readonly thresholds: number[];
  private readonly latches: { promise: Promise<void>; open: () => void; opened: boolean }[];

  constructor(thresholds: number[]) {
    this.thresholds = thresholds;
    this.latches = thresholds.map(() => {
      let open: () => void = () => {};
      const promise = new Promise<void>((r) => {
        open = r;
      });
      return { promise, open, opened: false };
    });
  }

  /** Fault k has started: the logs it held back may go. */
  started(k: number): void {
    const latch = this.latches[k];
    if (!latch) return;
    latch.opened = true;
    latch.open();
  }

  /** Resolves once every fault whose threshold `seq` has passed has started. */
  readonly gate = async (seq: number): Promise<void> => {
    for (let k = 0; k < this.thresholds.length; k++) {
      const latch = this.latches[k] as (typeof this.latches)[number];
      if (seq >= (this.thresholds[k] as number) && !latch.opened) await latch.promise;
    }
  };
}
