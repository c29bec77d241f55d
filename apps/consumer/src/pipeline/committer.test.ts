import { describe, expect, it } from "@jest/globals";
import type { TopicPartition, TopicPartitionOffset } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { createCommitter } from "./committer.js";

function fakeConsumer(assignment: TopicPartition[]) {
  const commits: TopicPartitionOffset[][] = [];
  let failNext = false;
  return {
    commits,
    failNextCommit: () => {
      failNext = true;
    },
    consumer: {
      assignment: () => assignment,
      async commit(offsets: readonly TopicPartitionOffset[]) {
        if (failNext) {
          failNext = false;
          throw new Error("coordinator moved");
        }
        commits.push([...offsets]);
      },
    },
  };
}

describe("createCommitter()", () => {
  it("commits only the finished prefix of each assigned partition, once per change", async () => {
    const kafka = fakeConsumer([
      { topic: "t", partition: 0 },
      { topic: "t", partition: 1 },
    ]);
    const committer = createCommitter({ consumer: () => kafka.consumer, logger: noopLogger });
    const p0 = committer.progressOf("t", 0);
    expect(committer.progressOf("t", 0)).toBe(p0);
    const first = p0.track("10", 1);
    const second = p0.track("11", 1);
    committer.progressOf("t", 1).track("3", 0);
    // A partition this member is no longer assigned is never committed.
    committer.progressOf("other", 0).track("7", 0);
    p0.finish(second);
    expect(committer.allFinished()).toBe(false);
    expect(await committer.commit()).toBe(true);
    expect(kafka.commits).toEqual([[{ topic: "t", partition: 1, offset: "4" }]]);
    p0.finish(first);
    expect(committer.allFinished()).toBe(true);
    await committer.commit();
    await committer.commit();
    expect(kafka.commits.slice(1)).toEqual([[{ topic: "t", partition: 0, offset: "12" }]]);
  });

  it("keeps the positions of a failed commit for the next one", async () => {
    const kafka = fakeConsumer([{ topic: "t", partition: 0 }]);
    let flushes = 0;
    const committer = createCommitter({
      consumer: () => kafka.consumer,
      logger: noopLogger,
      beforeCommit: () => void flushes++,
    });
    committer.progressOf("t", 0).track("0", 0);
    kafka.failNextCommit();
    expect(await committer.commit()).toBe(false);
    expect(await committer.commit()).toBe(true);
    expect(kafka.commits).toEqual([[{ topic: "t", partition: 0, offset: "1" }]]);
    expect(flushes).toBe(2);
  });

  it("on revocation commits what is finished (unless lost), then forgets the partition and wakes its waiter", async () => {
    const kafka = fakeConsumer([]);
    const committer = createCommitter({ consumer: () => kafka.consumer, logger: noopLogger });
    const kept = committer.progressOf("t", 0);
    const late = kept.track("4", 1);
    kept.track("5", 0);
    const woken: boolean[] = [];
    kept.drainWaiter = (drained) => void woken.push(drained);
    kept.paused = true;
    await committer.revoke([{ topic: "t", partition: 0 }], false);
    expect(kafka.commits).toEqual([]);
    expect(woken).toEqual([false]);
    expect(kept.revoked).toBe(true);
    expect(kept.paused).toBe(false);
    expect(committer.partitions()).toEqual([]);
    expect(committer.progressOf("t", 0)).not.toBe(kept);

    const lostOne = committer.progressOf("t", 0);
    lostOne.track("9", 0);
    await committer.revoke([{ topic: "t", partition: 0 }], true);
    kept.finish(late);
    await committer.commit([{ topic: "t", partition: 0 }]);
    expect(kafka.commits).toEqual([]);
  });

  it("commits the revoked partitions' finished records before letting them go", async () => {
    const kafka = fakeConsumer([]);
    const committer = createCommitter({ consumer: () => kafka.consumer, logger: noopLogger });
    committer.progressOf("t", 2).track("41", 0);
    await committer.revoke([{ topic: "t", partition: 2 }], false);
    expect(kafka.commits).toEqual([[{ topic: "t", partition: 2, offset: "42" }]]);
  });
});
