// `barito-flow consumer --dry-run` as a process on the real local Kafka and OpenSearch (run from source, as
// `pnpm dlq` runs the dlq command): the documents it would index are printed on stdout, redacted by the rules in
// force, and nothing is indexed or committed, not even by the commit at shutdown.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { until } from "./testing/wait.js";
import { consumerFromSource } from "./testing/process.js";
import { kafkaClients, opensearch, stackEndpoints } from "./testing/stack.js";
import { timberOf } from "./testing/timber.js";

const run = randomUUID().slice(0, 8);
const prefix = `dr${run}_`;
const topic = `${prefix}pay_logs`;
const indexPrefix = `dr${run}-pay`;
const dlqTopic = `dr${run}_dlq`;
const groupId = `dr${run}-group`;
const kafka = kafkaClients(`dry-run-it-${run}`);
const { admin, writer } = kafka;

const timber = timberOf({ kafkaTopic: "pay", esIndexPrefix: indexPrefix }, "2026-05-06T07:08:09Z");

beforeAll(async () => {
  await kafka.connect();
  await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
  await writer.publish(topic, [
    { value: timber({ seq: 0, card: "4111111111111111", note: "mail joe@mail.io" }) },
    { value: timber({ seq: 1, note: "no secrets" }) },
  ]);
});

afterAll(async () => {
  await fetch(`${opensearch}/${indexPrefix}-*`, { method: "DELETE" }).catch(() => undefined);
  await admin.deleteTopics([topic, dlqTopic]).catch(() => undefined);
  await kafka.close();
});

describe("consumer --dry-run (real Kafka and OpenSearch)", () => {
  it("prints the redacted documents it would index, and indexes and commits nothing", async () => {
    const dryRun = consumerFromSource(["consumer", "--dry-run"], {
      ...stackEndpoints,
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_KAFKA_GROUP_ID: groupId,
      BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
      // The metrics port is not opened by a dry run: a taken one must not matter.
      EXPORTER_PORT: "127.0.0.1:1",
      REDACTOR_RULES_MAP: JSON.stringify({
        default: {
          JsonPathRules: [{ Name: "CARD", Path: "\\.card$", HintCharsEnd: 4 }],
          StaticRules: [{ Name: "EMAIL", Regex: "[a-z]+@[a-z]+\\.[a-z]+" }],
        },
      }),
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
    });
    try {
      expect(await until(() => dryRun.stdout().split("\n").filter(Boolean).length >= 2, 45_000)).toBe(true);
      // Several commit intervals (1 s) pass with the records finished: nothing may be committed meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    } finally {
      dryRun.child.kill("SIGTERM");
    }
    expect((await dryRun.exit).code).toBe(0);
    const stdout = dryRun.stdout();
    const stderr = dryRun.stderr();

    // stdout is the documents alone; the logs went to stderr.
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      {
        index: `${indexPrefix}-2026.05.06`,
        id: `${topic}-0-0`,
        document: {
          seq: 0,
          card: "[CARD REDACTED]1111",
          note: "mail [EMAIL REDACTED]",
          "@timestamp": "2026-05-06T07:08:09Z",
        },
      },
      {
        index: `${indexPrefix}-2026.05.06`,
        id: `${topic}-0-1`,
        document: { seq: 1, note: "no secrets", "@timestamp": "2026-05-06T07:08:09Z" },
      },
    ]);
    expect(stderr).toContain('"msg":"dry run: documents are printed, nothing is indexed or committed"');

    const indices = await fetch(`${opensearch}/_cat/indices/${indexPrefix}-*?format=json`);
    expect(await indices.json()).toEqual([]);
    const dryRunGroup = /"groupId":"([^"]+-dry-run-[0-9a-f]{8})"/.exec(stderr)?.[1];
    expect(dryRunGroup).toBeDefined();
    for (const group of [groupId, dryRunGroup as string]) {
      const committed = await admin.fetchCommittedOffsets(group, [topic]);
      expect(committed.map((entry) => entry.offset)).toEqual(["-1"]);
    }
  }, 90_000);
});
