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
 *
 * One failed ping is not an outage: a request caught on a broker that is stopping (a rolling restart) times out
 * while the other brokers take writes. A failure is asked again at once (librdkafka picks another broker), and only
 * `failuresToDown` in a row turn the produce path off. Until the client is connected, `isConnected` is polled every
 * `connectPollMs`, so the first ping follows the connection instead of waiting for the interval.
 */
export function watchKafka(
  ping: () => Promise<boolean>,
  options: {
    intervalMs: number;
    logger: Logger;
    isConnected: () => boolean;
    failuresToDown?: number;
    retryMs?: number;
    connectPollMs?: number;
  },
): KafkaHealth {
  const failuresToDown = options.failuresToDown ?? 2;
  const retryMs = options.retryMs ?? 100;
  const connectPollMs = options.connectPollMs ?? 100;
  let reachable = false;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function probe(): Promise<void> {
    const connected = options.isConnected();
    const ok = connected && (await ping().catch(() => false));
    failures = ok ? 0 : failures + 1;
    // Never connected yet: nothing to confirm. Otherwise a lone failure keeps the last state until it is confirmed.
    const next = ok || (reachable && failures < failuresToDown);
    if (next !== reachable) options.logger[next ? "info" : "warn"](next ? "Kafka reachable" : "Kafka unreachable");
    reachable = next;
    const delay = !connected && !reachable ? connectPollMs : !ok && reachable ? retryMs : options.intervalMs;
    if (!stopped) timer = setTimeout(probe, delay).unref();
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
