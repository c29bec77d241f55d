import type { BatchConsumer } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";

export type DiscoverySource = "start" | "event" | "rescan";

export interface TopicDiscoveryOptions {
  /** Lists every topic of the cluster. */
  listTopics(): Promise<string[]>;
  /** True for topics that hold logs (matching prefix/suffix, not the dead-letter or event topic). */
  isLogTopic(topic: string): boolean;
  /**
   * Reads the announcement topic from its earliest offset. It must use a group of its own: every consumer process
   * has to see every announcement, not a share of them.
   */
  createEventConsumer(): BatchConsumer;
  eventTopic: string;
  rescanIntervalMs: number;
  /** Called with topics not seen before; a rejection is logged and the topics are offered again later. */
  onTopics(topics: string[], source: DiscoverySource): Promise<void>;
  logger: Logger;
  /** Wall clock for the announcements' record timestamps; injectable for tests. */
  now?: () => number;
}

/**
 * Announcements this much older than the start listing are skipped: the listing covers them. The margin allows for
 * clock skew between the announcing producer and this process.
 */
const announcementClockSkewMs = 60_000;

export interface TopicDiscovery {
  /** Lists the existing log topics (handed to `onTopics` with source "start"), then follows announcements. */
  start(): Promise<void>;
  /** Log topics handed to `onTopics` so far. */
  known(): string[];
  stop(): Promise<void>;
}

/**
 * Finds log topics three ways, as barito-flow users expect: those present at start, those announced on the
 * new-topic event topic (seconds), and, because an announcement can be lost, a periodic rescan.
 */
export function createTopicDiscovery(options: TopicDiscoveryOptions): TopicDiscovery {
  const { logger } = options;
  const known = new Set<string>();
  let events: BatchConsumer | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Serialised so a rescan and an announcement never hand the same topic over twice.
  let queue: Promise<void> = Promise.resolve();

  function offer(candidates: readonly string[], source: DiscoverySource): Promise<void> {
    queue = queue.then(async () => {
      if (stopped) return;
      const fresh = [...new Set(candidates)].filter((topic) => !known.has(topic) && options.isLogTopic(topic));
      if (fresh.length === 0) return;
      for (const topic of fresh) known.add(topic);
      logger.info("log topics discovered", { topics: fresh, source });
      try {
        await options.onTopics(fresh, source);
      } catch (err) {
        for (const topic of fresh) known.delete(topic);
        logger.warn("handling discovered topics failed; the next rescan offers them again", { err, topics: fresh });
      }
    });
    return queue;
  }

  async function rescan(): Promise<void> {
    try {
      await offer(await options.listTopics(), "rescan");
    } catch (err) {
      logger.warn("topic rescan failed", { err });
    }
  }

  return {
    async start() {
      // The event consumer reads from the earliest offset: with "latest", an announcement written between this
      // listing and the group's first assignment would be lost until the next rescan. Older announcements are
      // covered by the listing, and replaying them could resurrect deleted topics.
      const listedFrom = (options.now ?? Date.now)() - announcementClockSkewMs;
      await offer(await options.listTopics(), "start");
      events = options.createEventConsumer();
      await events.connect();
      await events.subscribe([options.eventTopic]);
      await events.run({
        eachBatch: async (batch) => {
          const announced = batch.messages
            .filter((record) => record.timestamp >= listedFrom)
            .map((record) => record.value?.toString("utf8").trim() ?? "");
          // Not awaited: a slow onTopics must not hold the event consumer's fetch loop.
          void offer(announced, "event");
        },
      });
      rescanTimer = setInterval(() => void rescan(), options.rescanIntervalMs);
      rescanTimer.unref();
    },
    known: () => [...known],
    async stop() {
      stopped = true;
      clearInterval(rescanTimer);
      await events?.disconnect();
      await queue;
    },
  };
}
