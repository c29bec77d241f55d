import type { Logger } from "@barito-flow/logger";
import { describe, expect, it } from "@jest/globals";
import type { OutgoingRecord } from "./ports.js";
import { createTopicProvisioner } from "./topic-provisioner.js";

function recordingLogger(entries: Array<[string, string, Record<string, unknown>]>): Logger {
  const logger: Logger = {
    debug: (msg, meta) => entries.push(["debug", msg, meta ?? {}]),
    info: (msg, meta) => entries.push(["info", msg, meta ?? {}]),
    warn: (msg, meta) => entries.push(["warn", msg, meta ?? {}]),
    error: (msg, meta) => entries.push(["error", msg, meta ?? {}]),
    child: () => logger,
  };
  return logger;
}

/** A provisioner whose topic does not exist yet, with the publisher's answers to the announcements given in order. */
function provisioner(answers: Array<Error | undefined>) {
  const entries: Array<[string, string, Record<string, unknown>]> = [];
  const announced: string[] = [];
  const failures: string[] = [];
  const topics = createTopicProvisioner({
    admin: { topicExists: async () => false, createTopic: async () => "created" },
    publisher: {
      async publish(_topic: string, records: readonly OutgoingRecord[]) {
        const answer = answers.shift();
        if (answer) throw answer;
        announced.push(Buffer.from(records[0]?.value ?? []).toString());
      },
      isConnected: () => true,
    },
    newTopicEventTopic: "new_topic_events",
    ignoreKafkaOptions: false,
    logger: recordingLogger(entries),
    announceRetry: { minDelayMs: 2, maxDelayMs: 4 },
    onAnnouncementFailed: (topic) => failures.push(topic),
  });
  return { topics, entries, announced, failures };
}

const kafkaError = (retriable: boolean) => Object.assign(new Error("broker down"), { code: "TRANSPORT", retriable });

/** Polls until `condition` holds, for at most 10 s. */
const until = async (condition: () => boolean, deadline = Date.now() + 10_000): Promise<void> => {
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
};

describe("topic announcements", () => {
  it("are retried until Kafka acknowledges them, each failure logged and counted", async () => {
    const { topics, entries, announced, failures } = provisioner([kafkaError(true), kafkaError(true)]);
    await topics.ensure("shop_logs", 1, 1);
    await until(() => announced.length === 1);
    expect(announced).toEqual(["shop_logs"]);
    expect(failures).toEqual(["shop_logs", "shop_logs"]);
    const retries = entries.filter(([, msg]) => msg === "announcing new topic failed, retrying");
    expect(retries.map(([, , meta]) => meta.attempt)).toEqual([0, 1]);
    for (const [, , meta] of retries) expect(meta.retryInMs).toBeLessThanOrEqual(4);
    expect(entries.at(-1)?.[1]).toBe("announced new topic");
    expect(topics.pendingAnnouncements()).toBe(0);
  });

  it("stop at an error Kafka marks as not retriable", async () => {
    const { topics, entries, announced } = provisioner([kafkaError(false)]);
    await topics.ensure("shop_logs", 1, 1);
    await until(() => topics.pendingAnnouncements() === 0);
    expect(announced).toEqual([]);
    expect(entries.map(([level, msg]) => `${level} ${msg}`)).toContain(
      "error announcing new topic failed for good; consumers find it by rescanning",
    );
  });

  it("end at close, while waiting for the next attempt", async () => {
    const { topics, entries, announced } = provisioner(Array.from({ length: 1_000 }, () => kafkaError(true)));
    await topics.ensure("shop_logs", 1, 1);
    await until(() => entries.some(([, msg]) => msg === "announcing new topic failed, retrying"));
    await topics.close();
    expect(topics.pendingAnnouncements()).toBe(0);
    expect(announced).toEqual([]);
    expect(entries.at(-1)?.[1]).toBe("new topic not announced before shutdown; consumers find it by rescanning");
  });
});
