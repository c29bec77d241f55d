import type { BatchConsumer, BatchHandler } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { describe, expect, it } from "@jest/globals";
import { createTopicDiscovery, type DiscoverySource } from "./topic-discovery.js";

/** Only what discovery calls; the real adapter is exercised by discovery.it.test.ts. */
function fakeEventConsumer() {
  let handler: BatchHandler | undefined;
  const consumer = {
    connect: async () => {},
    subscribe: async () => {},
    run: async (h: BatchHandler) => {
      handler = h;
    },
    disconnect: async () => {},
  } as unknown as BatchConsumer;
  const announceAt = (timestamp: number, ...topics: string[]) =>
    handler?.eachBatch({
      topic: "events",
      partition: 0,
      highWatermark: "0",
      messages: topics.map((topic, offset) => ({
        topic: "events",
        partition: 0,
        offset: String(offset),
        value: Buffer.from(topic),
        headers: {},
        timestamp,
      })),
    });
  return { consumer, announceAt, announce: (...topics: string[]) => announceAt(Date.now(), ...topics) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function discoveryWith(topics: string[], onTopics: (topics: string[], source: DiscoverySource) => Promise<void>) {
  const events = fakeEventConsumer();
  const discovery = createTopicDiscovery({
    listTopics: async () => [...topics],
    isLogTopic: (topic) => topic.endsWith("_logs"),
    createEventConsumer: () => events.consumer,
    eventTopic: "events",
    rescanIntervalMs: 20,
    onTopics,
    logger: noopLogger,
  });
  return { discovery, events };
}

describe("createTopicDiscovery()", () => {
  it("takes announcements from just before its start listing, and skips older ones the listing covers", async () => {
    const seen: string[][] = [];
    const { discovery, events } = discoveryWith([], async (topics) => {
      seen.push(topics);
    });
    const startedAt = Date.now();
    await discovery.start();
    await events.announceAt(startedAt - 5 * 60_000, "deleted_logs");
    await events.announceAt(startedAt - 1_000, "raced_logs");
    await settle();
    await discovery.stop();
    expect(seen).toEqual([["raced_logs"]]);
  });

  it("hands each log topic over once, whichever way it was found first", async () => {
    const cluster = ["a_logs", "dlq", "b_logs"];
    const seen: Array<[string[], DiscoverySource]> = [];
    const { discovery, events } = discoveryWith(cluster, async (topics, source) => {
      seen.push([topics, source]);
    });
    await discovery.start();
    await events.announce("c_logs", "c_logs", "not-a-log");
    await settle();
    cluster.push("c_logs", "d_logs");
    await new Promise((resolve) => setTimeout(resolve, 60));
    await events.announce("d_logs");
    await discovery.stop();
    expect(seen).toEqual([
      [["a_logs", "b_logs"], "start"],
      [["c_logs"], "event"],
      [["d_logs"], "rescan"],
    ]);
    expect(discovery.known().sort()).toEqual(["a_logs", "b_logs", "c_logs", "d_logs"]);
  });

  it("offers a topic again after its handler failed", async () => {
    const cluster = ["a_logs"];
    let failures = 1;
    const handled: string[] = [];
    const { discovery } = discoveryWith(cluster, async (topics) => {
      if (failures-- > 0) throw new Error("group coordinator unavailable");
      handled.push(...topics);
    });
    await discovery.start();
    expect(handled).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await discovery.stop();
    expect(handled).toEqual(["a_logs"]);
  });
});
