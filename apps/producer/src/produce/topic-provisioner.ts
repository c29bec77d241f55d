import type { Logger } from "@barito-flow/logger";
import pRetry from "p-retry";
import type { LogPublisher, TopicAdmin } from "./ports.js";

export interface TopicProvisionerOptions {
  admin: TopicAdmin;
  publisher: LogPublisher;
  /** Topic on which newly created log topics are announced (BARITO_NEW_TOPIC_EVENT). */
  newTopicEventTopic: string;
  /** BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS: create topics with the broker's defaults. */
  ignoreKafkaOptions: boolean;
  logger: Logger;
  /** Backoff between announcement attempts. */
  announceRetry?: { minDelayMs: number; maxDelayMs: number };
  onTopicCreated?: (topic: string) => void;
  onAnnouncementFailed?: (topic: string) => void;
}

export interface TopicProvisioner {
  /** Resolves once `topic` exists, creating (and announcing) it if needed. */
  ensure(topic: string, partitions: number, replicationFactor: number): Promise<void>;
  /** Announcements still waiting for Kafka's acknowledgement. */
  pendingAnnouncements(): number;
  /** Stops retrying announcements (shutdown); resolves when the attempts still running have ended. */
  close(): Promise<void>;
}

/**
 * Creates missing topics once per process (concurrent requests for the same topic share one creation) and
 * announces them on the new-topic event topic. The announcement is retried in the background until Kafka
 * acknowledges it, because a lost announcement leaves the topic unread until a consumer rescan; the request
 * that triggered the creation does not wait for it.
 */
export function createTopicProvisioner(options: TopicProvisionerOptions): TopicProvisioner {
  const known = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  const announcing = new Set<Promise<void>>();
  const { minDelayMs, maxDelayMs } = options.announceRetry ?? { minDelayMs: 200, maxDelayMs: 10_000 };
  const closed = new AbortController();

  // The event topic is ours to create too: brokers commonly disable auto-creation, and the publisher never
  // auto-creates (a typo in a topic name must not silently create it).
  let eventTopicReady: Promise<unknown> | undefined;
  function ensureEventTopic(): Promise<unknown> {
    eventTopicReady ??= options.admin
      .createTopic({ topic: options.newTopicEventTopic, partitions: -1, replicationFactor: -1 })
      .catch((err: unknown) => {
        eventTopicReady = undefined;
        throw err;
      });
    return eventTopicReady;
  }

  async function announce(topic: string): Promise<void> {
    let announced = false;
    try {
      await pRetry(
        async () => {
          await ensureEventTopic();
          await options.publisher.publish(options.newTopicEventTopic, [{ value: Buffer.from(topic) }]);
          announced = true;
          options.logger.info("announced new topic", { topic, eventTopic: options.newTopicEventTopic });
        },
        {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          // Randomized between 1× and 2× this: delays of minDelayMs/2 .. minDelayMs at first, doubling up to maxDelayMs.
          minTimeout: minDelayMs / 2,
          maxTimeout: maxDelayMs,
          randomize: true,
          signal: closed.signal,
          shouldRetry: ({ error }) => isRetriable(error),
          onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
            options.onAnnouncementFailed?.(topic);
            if (!isRetriable(error)) return;
            options.logger.warn("announcing new topic failed, retrying", {
              topic,
              attempt: attemptNumber - 1,
              retryInMs: retryDelay,
              err: error,
            });
          },
        },
      );
    } catch (err) {
      if (announced) return;
      if (closed.signal.aborted) {
        options.logger.warn("new topic not announced before shutdown; consumers find it by rescanning", { topic });
      } else {
        options.logger.error("announcing new topic failed for good; consumers find it by rescanning", { topic, err });
      }
    }
  }

  async function provision(topic: string, partitions: number, replicationFactor: number): Promise<void> {
    if (await options.admin.topicExists(topic)) {
      known.add(topic);
      return;
    }
    const spec = options.ignoreKafkaOptions
      ? { topic, partitions: -1, replicationFactor: -1 }
      : {
          topic,
          partitions: partitions > 0 ? partitions : -1,
          replicationFactor: replicationFactor > 0 ? replicationFactor : -1,
        };
    options.logger.info("creating topic", spec);
    const outcome = await options.admin.createTopic(spec);
    known.add(topic);
    // "exists" means another producer replica won the race; that replica announces it.
    if (outcome === "created") {
      options.onTopicCreated?.(topic);
      const loop = announce(topic).finally(() => announcing.delete(loop));
      announcing.add(loop);
    }
  }

  return {
    ensure(topic, partitions, replicationFactor) {
      if (known.has(topic)) return Promise.resolve();
      let pending = inFlight.get(topic);
      if (!pending) {
        pending = provision(topic, partitions, replicationFactor).finally(() => inFlight.delete(topic));
        inFlight.set(topic, pending);
      }
      return pending;
    },
    pendingAnnouncements: () => announcing.size,
    async close() {
      closed.abort();
      await Promise.allSettled([...announcing]);
    },
  };
}

/** Kafka's errors say whether a retry can help (`retriable`); anything that does not say is retried. */
function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown }).retriable !== false;
}
