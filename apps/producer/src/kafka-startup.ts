import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@barito-flow/logger";

export interface KafkaStartupOptions {
  connect: () => Promise<unknown>;
  /** BARITO_KAFKA_MAX_RETRY: attempts before giving up; 0 = forever (barito's meaning). */
  maxRetry: number;
  /** BARITO_KAFKA_RETRY_INTERVAL */
  retryIntervalMs: number;
  logger: Logger;
  onAttemptFailed?: () => void;
  signal?: AbortSignal;
}

/**
 * Connects the Kafka clients in the background of a server that already listens, so clients and probes see a
 * clear 503 instead of a closed port. Resolves true once connected, false when the retries ran out or the
 * signal aborted; never rejects.
 */
export async function connectKafkaWithRetry(options: KafkaStartupOptions): Promise<boolean> {
  const { maxRetry, retryIntervalMs, logger, signal } = options;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await options.connect();
      logger.info("connected to Kafka", { attempt });
      return true;
    } catch (err) {
      options.onAttemptFailed?.();
      if (maxRetry > 0 && attempt >= maxRetry) {
        logger.error("giving up connecting to Kafka (BARITO_KAFKA_MAX_RETRY reached)", { attempt, err });
        return false;
      }
      logger.warn("Kafka not reachable yet, retrying", { attempt, retryInMs: retryIntervalMs, err });
      try {
        await sleep(retryIntervalMs, undefined, { ref: false, ...(signal ? { signal } : {}) });
      } catch {
        return false; // aborted
      }
    }
  }
  return false;
}
