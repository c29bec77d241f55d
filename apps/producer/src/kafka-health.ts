import type { Logger } from "@barito-flow/logger";

export interface KafkaHealth {
  /** Last probe outcome; false until the first successful probe. */
  isReachable(): boolean;
  stop(): void;
}

/**
 * Probes Kafka with a cheap metadata round-trip. The publisher alone cannot tell: librdkafka keeps reconnecting
 * silently, and a write to a dead cluster only fails after the delivery timeout. With the probe, requests get a
 * 503 at once and /readyz turns false within one interval.
 */
export function watchKafka(
  ping: () => Promise<boolean>,
  options: { intervalMs: number; logger: Logger; isConnected: () => boolean },
): KafkaHealth {
  let reachable = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function probe(): Promise<void> {
    const ok = options.isConnected() && (await ping().catch(() => false));
    if (ok !== reachable) options.logger[ok ? "info" : "warn"](ok ? "Kafka reachable" : "Kafka unreachable");
    reachable = ok;
    if (!stopped) timer = setTimeout(probe, options.intervalMs).unref();
  }
  void probe();
  return {
    isReachable: () => reachable,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
