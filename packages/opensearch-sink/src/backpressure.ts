import type { Logger } from "@barito-flow/logger";

/**
 * Saturation with hysteresis over the number of operations the sink holds: saturated from `maxBufferedDocs` held,
 * and again free once they fall to `resumeBelowDocs`, so a paused source is not resumed for every settled document.
 */
export interface Backpressure {
  /** Re-evaluates saturation for `held` unsettled operations; wakes the waiters when it ends. */
  update(held: number): void;
  isSaturated(): boolean;
  /** Called every time saturation ends. Returns an unsubscribe function. */
  onDrain(callback: () => void): () => void;
  /** Resolves as soon as the sink is not saturated, or has closed. */
  waitForCapacity(): Promise<void>;
  /** The sink closed: wakes every waiter now and lets later ones through. */
  close(): void;
}

export interface BackpressureOptions {
  maxBufferedDocs: number;
  resumeBelowDocs: number;
  logger?: Logger | undefined;
}

export function createBackpressure({ maxBufferedDocs, resumeBelowDocs, logger }: BackpressureOptions): Backpressure {
  let saturated = false;
  let closed = false;
  const drainListeners = new Set<() => void>();
  let capacityWaiters: Array<() => void> = [];

  function wakeCapacityWaiters(): void {
    const waiters = capacityWaiters;
    capacityWaiters = [];
    for (const wake of waiters) wake();
  }

  return {
    update(held) {
      if (!saturated && held >= maxBufferedDocs) {
        saturated = true;
        logger?.debug?.("bulk sink saturated", { pending: held });
      } else if (saturated && held <= resumeBelowDocs) {
        saturated = false;
        wakeCapacityWaiters();
        for (const listener of drainListeners) {
          try {
            listener();
          } catch (err) {
            logger?.error("bulk sink onDrain listener threw", { err });
          }
        }
      }
    },
    isSaturated: () => saturated,
    onDrain(callback) {
      drainListeners.add(callback);
      return () => drainListeners.delete(callback);
    },
    waitForCapacity() {
      if (!saturated || closed) return Promise.resolve();
      return new Promise((resolve) => capacityWaiters.push(resolve));
    },
    close() {
      closed = true;
      wakeCapacityWaiters();
    },
  };
}
