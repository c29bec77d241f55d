import { describe, expect, it } from "@jest/globals";
import { noopLogger } from "@barito-flow/logger";
import { batchOf, createFakeGroupConsumer, type FakeGroupConsumer } from "../testing/fakes.js";
import { readToEnd } from "./read-to-end.js";

const ends = [
  { partition: 0, low: "0", high: "3" },
  { partition: 1, low: "0", high: "0" },
];

function setup(commit: boolean, committed: Array<{ topic: string; partition: number; offset: string }> = []) {
  let consumer: FakeGroupConsumer | undefined;
  const seen: string[] = [];
  const read = readToEnd({
    topic: "dlq",
    groupId: "replay",
    createConsumer: (options) => {
      consumer = createFakeGroupConsumer(options);
      return consumer;
    },
    admin: { fetchTopicOffsets: async () => ends, fetchCommittedOffsets: async () => committed },
    startFromGroup: "replay",
    commit,
    onBatch: async (batch) => {
      seen.push(...batch.messages.map((m) => m.offset));
      return undefined;
    },
    idleTimeoutMs: 60_000,
    logger: noopLogger,
  });
  const delivered = async () => {
    while (!consumer) await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, 1));
    return consumer;
  };
  return { read, seen, delivered };
}

describe("readToEnd()", () => {
  it("stops at the end as of its start, leaving later records, and commits each batch when asked", async () => {
    const { read, seen, delivered } = setup(true);
    const consumer = await delivered();
    await consumer.deliver(batchOf("dlq", 0, 0, [Buffer.from("a"), Buffer.from("b")]));
    // Offset 3 was written during the read (a write-back): not read, not committed.
    await consumer.deliver(batchOf("dlq", 0, 2, [Buffer.from("c"), Buffer.from("d")]));
    expect(await read.done).toEqual({ reachedEnd: true, remaining: 0, total: 3 });
    expect(seen).toEqual(["0", "1", "2"]);
    expect(consumer.commits).toEqual([
      [{ topic: "dlq", partition: 0, offset: "2" }],
      [{ topic: "dlq", partition: 0, offset: "3" }],
    ]);
  });

  it("does not join at all when the group is already at the end, and never commits unless asked", async () => {
    const done = setup(true, [{ topic: "dlq", partition: 0, offset: "3" }]);
    expect(await done.read.done).toEqual({ reachedEnd: true, remaining: 0, total: 0 });
    const { read, delivered } = setup(false);
    const consumer = await delivered();
    await consumer.deliver(batchOf("dlq", 0, 0, [Buffer.from("a")]));
    read.stop();
    expect(await read.done).toEqual({ reachedEnd: false, remaining: 2, total: 3 });
    expect(consumer.commits).toEqual([]);
  });
});
