import type { Logger } from "@barito-flow/logger";
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
  /** Stops retrying announcements (shutdown); resolves when retry loops have exited. */
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
  let closed = false;
  const wakeUps = new Set<() => void>();

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUps.delete(done);
        resolve();
      }
      wakeUps.add(done);
    });
  }

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
    for (let attempt = 0; !closed; attempt++) {
      try {
        await ensureEventTopic();
        await options.publisher.publish(options.newTopicEventTopic, [{ value: Buffer.from(topic) }]);
        options.logger.info("announced new topic", { topic, eventTopic: options.newTopicEventTopic });
        return;
      } catch (err) {
        options.onAnnouncementFailed?.(topic);
        const delay = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2);
        options.logger.warn("announcing new topic failed, retrying", {
          topic,
          attempt,
          retryInMs: Math.round(delay),
          err,
        });
        await sleep(delay);
      }
    }
    options.logger.warn("new topic not announced before shutdown; consumers find it by rescanning", { topic });
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
      closed = true;
      for (const wake of [...wakeUps]) wake();
      await Promise.allSettled([...announcing]);
    },
  };
}
