// `barito-flow dlq` on the real local Kafka and OpenSearch: a mapping conflict dead-lettered by the real consumer,
// the mapping fixed the way an operator does it (a template for the coming days, the day's index reindexed into
// one with the fixed mapping and an alias under the old name), then `dlq replay` run as a process (as `pnpm dlq`
// runs it, from source) indexes it once with its original id; a second replay redoes nothing; a record that still
// fails goes back with its new reason and a replay count.
import { randomUUID } from "node:crypto";
import { type Logger, noopLogger } from "@barito-flow/logger";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createConsumerAdapters } from "../adapters.js";
import { loadConsumerConfig } from "../config.js";
import { createStackConsumer, stackEnv } from "../testing/in-process.js";
import { consumerFromSource } from "../testing/process.js";
import { kafkaClients, opensearch } from "../testing/stack.js";
import { timberOf } from "../testing/timber.js";
import { until } from "../testing/wait.js";
import { startDlqCommand } from "./dlq-command.js";
import { parseDlqArgs } from "./options.js";

const run = randomUUID().slice(0, 8);
const prefix = `dq${run}_`;
const topic = `${prefix}shop_logs`;
const indexPrefix = `dq${run}-shop`;
const day = `${indexPrefix}-2026.03.04`;
const dlqTopic = `dq${run}_dlq`;
const groupId = `dq${run}-group`;
const env = stackEnv({
  BARITO_KAFKA_TOPIC_PREFIX: prefix,
  BARITO_KAFKA_GROUP_ID: groupId,
  BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
});
const kafka = kafkaClients(`dlq-it-${run}`);
const { admin, writer } = kafka;

const timber = timberOf({ kafkaTopic: "shop", esIndexPrefix: indexPrefix, appMaxTps: 100 }, "2026-03-04T05:06:07Z");

interface Hit {
  _id: string;
  _index: string;
  _version: number;
  _seq_no: number;
  _source: Record<string, unknown>;
}
/** A dead letter as `dlq show --json` prints it. */
interface Shown {
  notDeadLetter?: boolean;
  sourceOffset?: string;
  reason?: string;
  headers: Record<string, string>;
  [field: string]: unknown;
}

async function os(method: string, path: string, body?: object): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${opensearch}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function documents(): Promise<Hit[]> {
  await os("POST", `/${indexPrefix}-*/_refresh`);
  const found = await os("POST", `/${indexPrefix}-*/_search?size=100&seq_no_primary_term=true&version=true`, {
    sort: [{ seq: "asc" }],
  });
  return (found.body as { hits?: { hits: Hit[] } }).hits?.hits ?? [];
}

/** Errors of the in-process commands end up in the test's output, the rest is dropped. */
const errorsThrough: Logger = {
  ...noopLogger,
  error: (message, meta) => console.error(message, meta),
  child: () => errorsThrough,
};

/** A `dlq` command in this process (the same function main.ts runs), its stdout lines and exit code. */
async function dlq(args: string[]): Promise<{ code: number; out: string[] }> {
  const config = loadConsumerConfig(env);
  const out: string[] = [];
  const running = startDlqCommand(parseDlqArgs(args), {
    config,
    logger: errorsThrough,
    adapters: createConsumerAdapters(config, noopLogger),
    out: (text) => out.push(text),
  });
  return { code: await running.done, out };
}

/** `pnpm dlq …`: main.ts run from source by tsx, as a child process. */
async function dlqProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dlqRun = consumerFromSource(["dlq", ...args], { ...env, LOG_LEVEL: "info", LOG_FORMAT: "json" });
  const { code } = await dlqRun.exit;
  return { code, stdout: dlqRun.stdout(), stderr: dlqRun.stderr() };
}

const deadLetters = async () =>
  (await dlq(["show", "--json", "--limit", "1000"])).out.map((line) => JSON.parse(line) as Shown);

beforeAll(async () => {
  await kafka.connect();
  await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
  // The day's index as its first documents left it: `code` numeric, `meta` an object.
  await os("PUT", `/${day}`, {
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    mappings: { properties: { seq: { type: "long" }, code: { type: "long" }, meta: { type: "object" } } },
  });
});

afterAll(async () => {
  await os("DELETE", `/${indexPrefix}-*`).catch(() => undefined);
  await os("DELETE", `/_index_template/${indexPrefix}`).catch(() => undefined);
  await admin.deleteTopics([topic, dlqTopic]).catch(() => undefined);
  await kafka.close();
});

describe("dlq stats, show and replay (real Kafka and OpenSearch)", () => {
  it("dead-letters a mapping conflict; after the fix, replay indexes it once, and what still fails goes back", async () => {
    // 1) The real consumer: seq 1 and 3 conflict with the mapping and are dead-lettered, 0 and 2 are indexed.
    await writer.publish(topic, [
      { value: timber({ seq: 0, code: 42, meta: { tier: "gold" } }) },
      { value: timber({ seq: 1, code: "E42" }) },
      { value: timber({ seq: 2, code: 7 }) },
      { value: timber({ seq: 3, code: "E43", meta: "flat" }) },
    ]);
    const app = createStackConsumer(loadConsumerConfig(env));
    await app.start();
    try {
      expect(await until(async () => (await documents()).length === 2 && app.processed() === 4, 30_000)).toBe(true);
    } finally {
      await app.stop(10_000);
    }
    const committedByConsumer = await admin.fetchCommittedOffsets(groupId, [topic]);
    // Something else in the topic, without barito's headers: reported, never replayed, never a crash.
    await writer.publish(dlqTopic, [{ value: Buffer.from("not a dead letter") }]);

    const stats = await dlq(["stats", "--json"]);
    expect(stats.code).toBe(0);
    const counts = JSON.parse(stats.out[0] as string);
    expect(counts).toMatchObject({
      total: 2,
      notDeadLetters: 1,
      bySourceTopic: { [topic]: 2 },
      byIndex: { [day]: 2 },
      byHttpStatus: { "400": 2 },
      complete: true,
    });
    expect(Object.values(counts.byErrorType)).toEqual([2]);
    expect(Date.parse(counts.oldest)).toBeLessThanOrEqual(Date.parse(counts.newest));
    const before = await deadLetters();
    expect(before).toHaveLength(3);
    expect(before.filter((d) => d.notDeadLetter)).toHaveLength(1);
    const conflict = before.find((d) => d.sourceOffset === "1");
    expect(conflict).toMatchObject({
      sourceTopic: topic,
      index: day,
      itemIndex: 0,
      documents: [{ seq: 1, code: "E42" }],
    });
    expect(conflict?.reason).toMatch(/\[code\]/);
    // Reading the topic moved no group: the consumer's offsets are where it left them.
    expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual(committedByConsumer);

    // A dry run prints what it would index and changes nothing: no document, no commit of the replay's group.
    const dryRun = await dlq(["replay", "--dry-run", "--json"]);
    expect(dryRun.code).toBe(0);
    const planned = dryRun.out.slice(0, -1).map((line) => JSON.parse(line));
    expect(planned.map((p) => [p.action, p.index, p.id])).toEqual([
      ["index", day, `${topic}-0-1`],
      ["index", day, `${topic}-0-3`],
    ]);
    expect(JSON.parse(dryRun.out.at(-1) as string).summary).toMatchObject({
      dryRun: true,
      indexed: 2,
      notDeadLetters: 1,
    });
    expect((await documents()).map((d) => d._source.seq)).toEqual([0, 2]);
    const replayGroup = JSON.parse(dryRun.out.at(-1) as string).summary.group as string;
    expect((await admin.fetchCommittedOffsets(replayGroup, [dlqTopic])).every((c) => c.offset === "-1")).toBe(true);

    // 2) The fix: `code` becomes a keyword for the coming days (a template), and the day's index is reindexed into
    // one that has the template's mapping, which takes over the old name as an alias.
    expect(
      (
        await os("PUT", `/_index_template/${indexPrefix}`, {
          index_patterns: [`${indexPrefix}-*`],
          template: {
            settings: { number_of_shards: 1, number_of_replicas: 0 },
            mappings: { properties: { seq: { type: "long" }, code: { type: "keyword" } } },
          },
        })
      ).status,
    ).toBe(200);
    // The stack's OpenSearch has no reindex module: the documents are copied with their ids as a reindex would.
    const copied = (await documents()).flatMap((d) => [
      JSON.stringify({ index: { _index: `${day}-v2`, _id: d._id } }),
      JSON.stringify(d._source),
    ]);
    const bulk = await fetch(`${opensearch}/_bulk?refresh=true`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: `${copied.join("\n")}\n`,
    });
    expect(((await bulk.json()) as { errors: boolean }).errors).toBe(false);
    expect((await os("DELETE", `/${day}`)).status).toBe(200);
    expect((await os("PUT", `/${day}-v2/_alias/${day}`)).status).toBe(200);

    // 3) The replay, as `pnpm dlq replay --json` runs it: seq 1 indexed with its original id.
    const first = await dlqProcess(["replay", "--json", "--progress-interval", "20ms"]);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout.trim().split("\n").at(-1) as string).summary;
    expect(summary).toMatchObject({
      read: 3,
      indexed: 1,
      documentsIndexed: 1,
      failed: 1,
      notDeadLetters: 1,
      complete: true,
      group: replayGroup,
    });
    // Logs and progress on stderr, as JSON lines.
    expect(first.stderr).toContain('"msg":"replay finished"');
    expect(first.stderr).toMatch(/"msg":"replay progress".*"remaining":/);
    const afterFirst = await documents();
    expect(afterFirst.map((d) => [d._source.seq, d._id, d._index])).toEqual([
      [0, `${topic}-0-0`, `${day}-v2`],
      [1, `${topic}-0-1`, `${day}-v2`],
      [2, `${topic}-0-2`, `${day}-v2`],
    ]);
    const replayed = afterFirst[1] as Hit;
    expect(replayed._version).toBe(1);

    // 5) seq 3 still fails, now on `meta`: it is back in the topic with its new reason and one replay counted.
    const afterReplay = await deadLetters();
    expect(afterReplay).toHaveLength(4);
    const back = afterReplay.at(-1);
    expect(back).toMatchObject({ sourceTopic: topic, sourceOffset: "3", replays: 1, index: day, httpStatus: 400 });
    expect(back?.reason).toMatch(/\[meta\]/);
    expect(back?.headers["barito-dlq-replays"]).toBe("1");

    // 4) The same replay again redoes nothing: it resumes after what the first one committed, so seq 1 is not even
    // overwritten; it reads only the record the first one wrote back, which fails again.
    const second = await dlq(["replay", "--json"]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out.at(-1) as string).summary).toMatchObject({ read: 1, indexed: 0, failed: 1 });
    const afterSecond = await documents();
    expect(afterSecond).toHaveLength(3);
    expect(afterSecond[1]).toMatchObject({ _id: `${topic}-0-1`, _version: 1, _seq_no: replayed._seq_no });
    expect((await deadLetters()).at(-1)).toMatchObject({ sourceOffset: "3", replays: 2 });
  }, 120_000);
});
