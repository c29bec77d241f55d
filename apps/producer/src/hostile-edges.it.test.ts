// The hostile-input suite's edge cases, checked end to end: generated JSON edge cases (numbers beyond the double
// range, empty and dotted keys, prototype and metadata names, duplicate keys, lone surrogates, NUL, deep and wide
// objects) and context values at and beyond every limit go to a producer on the real Kafka over REST, Connect (JSON
// and binary) and gRPC, while a real consumer indexes into the real OpenSearch. For every input the answer is either a
// final 4xx naming a field that exists in the request, or a 2xx after which the document is read back from
// OpenSearch and compared with what was sent. A dead letter fails the property at once. fast-check prints the seed
// and the shrunk counterexample of a failure; HOSTILE_SEED reruns one, HOSTILE_RUNS_FACTOR scales the run counts.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import { create, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { noopLogger } from "@barito-flow/logger";
import { TimberCollectionSchema } from "@barito-flow/proto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { type HostileTarget, rawGrpcAnswer } from "./testing/hostile-cases.js";
import { type InProcessProducer, kafkaBrokers as brokers, startInProcessProducer } from "./testing/in-process.js";

const opensearch = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = randomUUID().slice(0, 8);
const prefix = `he${run}_`;
const dlqTopic = `he${run}-dlq`;
const eventTopic = `he${run}-new-topic-events`;
const maxPartitions = 4;
const seed = process.env.HOSTILE_SEED === undefined ? {} : { seed: Number(process.env.HOSTILE_SEED) };

interface ConsumerApp {
  start(): Promise<void>;
  stop(timeoutMs: number): Promise<void>;
}

const admin = createKafkaAdmin({ brokers: [brokers], clientId: `he-admin-${run}` });
let producer: InProcessProducer;
let consumer: ConsumerApp;
let target: HostileTarget;
let dlqReader: ChildProcess | undefined;
const deadLetters: string[] = [];

beforeAll(async () => {
  await admin.connect();
  await admin.createTopic({ topic: dlqTopic, partitions: 1, replicationFactor: 1 });
  producer = await startInProcessProducer({
    env: {
      BARITO_KAFKA_TOPIC_PREFIX: prefix,
      BARITO_NEW_TOPIC_EVENT: eventTopic,
      BARITO_GRPC_MAX_RECV_MSG_SIZE: "4000000",
      BARITO_PRODUCER_MAX_MESSAGE_BYTES: "1000000",
      BARITO_PRODUCER_MAX_TOPIC_PARTITIONS: String(maxPartitions),
    },
    clientId: `he-${run}`,
    deliveryTimeoutMs: 10_000,
  });
  target = { rest: producer.urls.rest, grpc: producer.urls.grpc };

  // The consumer app, loaded by path: it is another app of this repository, not a dependency of the producer.
  const consumerSource = join(__dirname, "..", "..", "consumer", "src");
  const { createConsumerApp } = (await import(join(consumerSource, "app.ts"))) as {
    createConsumerApp(dependencies: object): ConsumerApp;
  };
  const { loadConsumerConfig } = (await import(join(consumerSource, "config.ts"))) as {
    loadConsumerConfig(env: Record<string, string>): unknown;
  };
  const { createConsumerAdapters } = (await import(join(consumerSource, "adapters.ts"))) as {
    createConsumerAdapters(config: unknown, logger: typeof noopLogger): object;
  };
  const consumerConfig = loadConsumerConfig({
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_ELASTICSEARCH_URLS: opensearch,
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_NEW_TOPIC_EVENT: eventTopic,
    BARITO_KAFKA_GROUP_ID: `he-${run}`,
    BARITO_CONSUMER_DLQ_TOPIC: dlqTopic,
    BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "20",
    BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
    LOG_LEVEL: "silent",
  });
  consumer = createConsumerApp({
    config: consumerConfig,
    logger: noopLogger,
    ...createConsumerAdapters(consumerConfig, noopLogger),
  });
  await consumer.start();
  // Dead letters keep the original headers, so each is found by its request's Idempotency-Key.
  dlqReader = spawn("kcat", ["-b", brokers, "-C", "-t", dlqTopic, "-o", "beginning", "-u", "-q", "-f", "%h\n"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let partial = "";
  dlqReader.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    deadLetters.push(...lines);
  });
}, 60_000);

afterAll(async () => {
  if (dlqReader?.pid !== undefined) process.kill(dlqReader.pid);
  await consumer?.stop(5_000);
  await producer?.close();
  await fetch(`${opensearch}/he${run}-*`, { method: "DELETE" }).catch(() => undefined);
  // Every topic of this run, by name (one unknown name would fail a whole delete request); twice, because a client
  // shutting down can still ask for a topic's metadata, which makes the broker create it again.
  for (let pass = 0; pass < 2; pass++) {
    const ours = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`he${run}`));
    await admin.deleteTopics(ours).catch(() => undefined);
    await sleep(2_000);
  }
  await admin.close();
}, 60_000);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- JSON text generators: text, so that literals JSON.stringify never writes (1e400, duplicate keys) occur ----

const quote = (text: string) => JSON.stringify(text);
const edgeKey = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "",
      ".",
      "..",
      "a.",
      ".a",
      "a..b",
      "a.b",
      "b.c.d",
      " ",
      "__proto__",
      "constructor",
      "prototype",
      "hasOwnProperty",
      "_id",
      "_source",
      "_routing",
      "_type",
      "_",
      "\u0000",
      "a\u0000b",
      "\ud800",
      "x\udfff",
      "\u2028",
      "1",
      "01",
      "é",
      "😀",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }) },
);
// The consumer dates documents by "@timestamp"; a generated one would move the document to another index.
const key = edgeKey.filter((k) => k !== "@timestamp").map(quote);

const numberText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "1e400",
      "-1e400",
      "1e309",
      "9".repeat(310),
      "1e-400",
      "-0",
      "0",
      "1E5",
      "0.1",
      "100000000000000000000",
      "18446744073709551615",
      "9007199254740993",
      "3.4e38",
      "3.5e38",
      "1.7976931348623157e308",
      "5e-324",
    ),
  },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)) },
  { weight: 2, arbitrary: fc.integer().map(String) },
);
const stringText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }).map(quote) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }).map(quote) },
  { weight: 1, arbitrary: fc.constantFrom('"\\ud800x"', '"\\udc00"', '"a\\u0000b"', '"\\u0000"', '"😀"') },
);
const scalarText = fc.oneof(numberText, stringText, fc.constantFrom("true", "false", "null"));

/** An object's text from entries; keys may repeat (JSON.parse keeps the last). */
const objectText = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`;

const { json: valueText } = fc.letrec<{ json: string; object: string; array: string }>((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarText, tie("object"), tie("array")),
  object: fc.array(fc.tuple(key, tie("json")), { maxLength: 5 }).map(objectText),
  // One mapping type per array: values of one field that dynamic mapping types differently ([0.5, 1] is float then
  // long) are a mapping conflict, the index's business rather than the input's (see the README).
  array: fc
    .oneof(
      numberText.chain((n) => fc.array(fc.constant(n), { maxLength: 3 })),
      fc.array(fc.integer().map(String), { maxLength: 3 }),
      fc.array(stringText, { maxLength: 3 }),
      fc.tuple(tie("object")),
    )
    .map((items) => `[${items.join(",")}]`),
}));

/** Around OpenSearch's default depth limit (20 levels of objects, 20 of arrays). */
const deepText = fc
  .tuple(fc.constantFrom(18, 19, 20, 21, 30), fc.constantFrom("object", "array"), scalarText)
  .map(([depth, kind, leaf]) => {
    let text = leaf;
    for (let i = 0; i < depth; i++) text = kind === "object" ? `{"d":${text}}` : `[${text}]`;
    return kind === "object" ? text : `{"d":${text}}`;
  });
/** A long text printed by fast-check as its recipe. */
const labelled = (text: string, label: string) => Object.assign(new String(text), { [fc.toStringMethod]: () => label });
/** Around OpenSearch's default limit of 1000 fields per index (a string is two: text and keyword). */
const wideText = fc
  .tuple(fc.constantFrom(10, 498, 499, 500, 999, 1000, 1200), fc.constantFrom("string", "number"))
  .map(([width, kind]) =>
    labelled(
      objectText(Array.from({ length: width }, (_, i) => [quote(`w${i}`), kind === "string" ? '"v"' : String(i)])),
      `wide(${width} ${kind} fields)`,
    ),
  );
const contentText = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(key, valueText), { maxLength: 6 }).map(objectText) },
  { weight: 1, arbitrary: deepText },
  { weight: 1, arbitrary: wideText },
);
// One class of edge case at a time, so that one class (empty keys, the most frequent) cannot hide another while
// fast-check shrinks: edge numbers under plain keys, edge keys over plain values, and depth and width alone.
const plainKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/).map(quote);
const numbersOnly = fc
  .array(
    fc.tuple(
      plainKey,
      fc.oneof(
        numberText,
        numberText
          .chain((n) => fc.array(fc.constant(n), { minLength: 1, maxLength: 3 }))
          .map((items) => `[${items.join(",")}]`),
      ),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map(objectText);
const keysOnly = fc
  .array(fc.tuple(key, fc.constantFrom("1", '"v"', "true", '{"x":1}', "[2]")), { minLength: 1, maxLength: 4 })
  .map(objectText);
const shapesOnly = fc.oneof(deepText, wideText);
const contentClasses: Array<[string, fc.Arbitrary<unknown>, number]> = [
  ["numbers", numbersOnly, 60],
  ["keys", keysOnly, 60],
  ["depth and width", shapesOnly, 30],
  ["all of them mixed", contentText, 150],
];

// ---- the protocols, each answer reduced to: success, or final/retriable refusal with its details ----

type Protocol = "rest" | "rest-batch" | "connect-json" | "connect-proto" | "grpc";
const protocols: Protocol[] = ["rest", "rest-batch", "connect-json", "connect-proto", "grpc"];

interface Answer {
  ok: boolean;
  /** HTTP status, or `grpc-<status>`. */
  status: string;
  /** A refusal that retrying cannot change: 4xx other than 429, gRPC INVALID_ARGUMENT. */
  final: boolean;
  code?: string;
  details: Array<{ field: string; reason: string }>;
}

function post(path: string, body: string | Uint8Array, contentType: string, idempotencyKey: string) {
  return new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>(
    (resolve, reject) => {
      const req = request(
        `${target.rest}${path}`,
        { method: "POST", headers: { "content-type": contentType, "idempotency-key": idempotencyKey } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              headers: res.headers,
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    },
  );
}

async function grpcCall(payload: Uint8Array, idempotencyKey: string): Promise<Answer> {
  const answer = await rawGrpcAnswer(target, payload, { headers: { "idempotency-key": idempotencyKey } });
  return {
    ok: answer.status === 0,
    status: `grpc-${answer.status}`,
    final: answer.status === 3,
    code: answer.errorCode,
    details: JSON.parse(answer.details ?? "[]"),
  };
}

function httpAnswer(res: { status: number; text: string; headers: Record<string, unknown> }, rest: boolean): Answer {
  const ok = res.status === 200;
  const body = ok ? {} : (JSON.parse(res.text) as { code?: string; details?: Answer["details"] });
  const headerDetails = res.headers["barito-error-details"];
  return {
    ok,
    status: String(res.status),
    final: res.status >= 400 && res.status < 500 && res.status !== 429 && res.headers["retry-after"] === undefined,
    code: rest ? body.code : (res.headers["barito-error-code"] as string | undefined),
    details: rest ? (body.details ?? []) : JSON.parse(typeof headerDetails === "string" ? headerDetails : "[]"),
  };
}

/** Sends one log: context (snake_case JSON object) and content (JSON text) over one protocol. */
async function send(protocol: Protocol, context: Record<string, unknown>, content: string, key: string) {
  const contextText = JSON.stringify(context);
  switch (protocol) {
    case "rest":
      return httpAnswer(
        await post("/produce", `{"context":${contextText},"content":${content}}`, "application/json", key),
        true,
      );
    case "rest-batch":
      return httpAnswer(
        await post(
          "/produce_batch",
          `{"context":${contextText},"items":[{"content":${content}}]}`,
          "application/json",
          key,
        ),
        true,
      );
    case "connect-json":
      return httpAnswer(
        await post(
          "/producer.Producer/ProduceBatch",
          `{"context":${contextText},"items":[{"content":${content}}]}`,
          "application/json",
          key,
        ),
        false,
      );
    default: {
      // The binary protocols carry what JSON.parse made of the text (a double for 1e400: Infinity).
      const camel = Object.fromEntries(
        Object.entries(context).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
      );
      const bytes = toBinary(
        TimberCollectionSchema,
        create(TimberCollectionSchema, { context: camel, items: [{ content: JSON.parse(content) as JsonObject }] }),
      );
      return protocol === "grpc"
        ? grpcCall(bytes, key)
        : httpAnswer(await post("/producer.Producer/ProduceBatch", bytes, "application/proto", key), false);
    }
  }
}

// ---- the oracle ----

/** JSON.parse, with what UTF-8 cannot carry (lone surrogates) replaced by U+FFFD, as the README documents. */
function expected(text: string): unknown {
  const wellFormed = (value: unknown): unknown => {
    if (typeof value === "string") return value.toWellFormed();
    if (Array.isArray(value)) return value.map(wellFormed);
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        Object.defineProperty(out, k.toWellFormed(), { value: wellFormed(v), enumerable: true, writable: true });
      }
      return out;
    }
    return value;
  };
  return wellFormed(JSON.parse(text));
}

/**
 * Key-order-independent text of a JSON value (own properties only, so "__proto__" is a key like any other). A number
 * JSON cannot write (Infinity from 1e400) is written as itself: JSON.stringify would make it null and hide its loss.
 */
function canonical(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return `#${value}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Resolves a field path as the producer writes it (`content.a[2]["odd key"]`) in the request; false if absent. */
function resolves(path: string, request: { context: Record<string, unknown>; content: unknown }): boolean {
  const head = /^(?:items\[0\]\.)?(content|context)/.exec(path);
  if (!head) return false;
  let node: unknown = head[1] === "content" ? request.content : request.context;
  let rest = path.slice(head[0].length);
  while (rest !== "") {
    const step = /^\.([A-Za-z_$@][\w$@-]*)|^\[(\d+)\]|^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
    if (!step || node === null || typeof node !== "object") return false;
    const name = step[1] ?? (step[2] !== undefined ? Number(step[2]) : (JSON.parse(step[3] as string) as string));
    if (!Object.hasOwn(node as object, name)) return false;
    node = (node as Record<string | number, unknown>)[name];
    rest = rest.slice(step[0].length);
  }
  return true;
}

function dailyIndex(indexPrefix: string): string {
  const now = new Date().toISOString();
  return `${indexPrefix}-${now.slice(0, 4)}.${now.slice(5, 7)}.${now.slice(8, 10)}`;
}

/** The indexed document of a request, or the dead letter that replaced it. */
async function readBack(indexPrefix: string, key: string): Promise<{ source?: unknown; deadLetter?: string }> {
  const url = `${opensearch}/${dailyIndex(indexPrefix)}/_doc/${encodeURIComponent(`${key}-0`)}`;
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const res = await fetch(url); // a GET by id is real time: no refresh needed
    if (res.status === 200) {
      const body = (await res.json()) as { found: boolean; _source: unknown };
      if (body.found) return { source: body._source };
    } else await res.body?.cancel();
    const dead = deadLetters.find((line) => line.includes(`idempotency-key=${key}`));
    if (dead !== undefined) return { deadLetter: dead };
    await sleep(50);
  }
  return {};
}

let counter = 0;

/** The invariant: a final 4xx naming a field of the request, or a 2xx and the document indexed unchanged. */
async function checkOne(protocol: Protocol, context: Record<string, unknown>, content: string): Promise<Answer> {
  const key = `k${counter++}`;
  const answer = await send(protocol, context, content, key);
  const request = { context, content: JSON.parse(content) as unknown };
  if (!answer.ok) {
    expect({ protocol, answer, final: answer.final }).toMatchObject({ final: true });
    expect(answer.details.length).toBeGreaterThan(0);
    // The binary protocols carry the content as protobuf encoded it (lone surrogates already U+FFFD).
    const sent = { context, content: expected(content) };
    // protobuf-es's JSON parser (Connect JSON) refuses duplicate keys without saying where (REST keeps the last).
    const named = answer.details.every(
      ({ field, reason }) =>
        resolves(field, request) ||
        resolves(field, sent) ||
        (protocol === "connect-json" && field === "body" && reason.includes("duplicate object key")),
    );
    expect({ protocol, answer, named }).toMatchObject({ named: true });
    return answer;
  }
  const indexPrefix = String(context.es_index_prefix);
  const back = await readBack(indexPrefix, key);
  await fetch(`${opensearch}/${dailyIndex(indexPrefix)}`, { method: "DELETE" }).catch(() => undefined);
  expect({ protocol, deadLetter: back.deadLetter }).toEqual({ protocol, deadLetter: undefined });
  expect(back.source).toBeDefined();
  const { "@timestamp": _added, ...indexed } = back.source as Record<string, unknown>;
  expect({ protocol, indexed: canonical(indexed) }).toEqual({ protocol, indexed: canonical(expected(content)) });
  return answer;
}

/** A context that is valid except for the values a test puts in; every request indexes into a fresh index. */
function baseContext(kafkaTopic: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kafka_topic: kafkaTopic,
    kafka_partition: 1,
    kafka_replication_factor: 1,
    es_index_prefix: `he${run}-${counter}`,
    app_max_tps: 1_000_000,
    ...overrides,
  };
}

describe("producer edge cases, read back from OpenSearch (real Kafka, consumer and OpenSearch)", () => {
  it.each(contentClasses)(
    "answers generated JSON edge cases (%s) with a final 4xx naming the field, or indexes them unchanged",
    async (_, arbitrary, runs) => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...protocols), arbitrary, async (protocol, content) => {
          await checkOne(protocol, baseContext("content"), String(content));
        }),
        { numRuns: Math.ceil(runs * Number(process.env.HOSTILE_RUNS_FACTOR ?? 1)), ...seed },
      );
    },
    600_000,
  );

  it("answers the issue's cases alike on REST, Connect (JSON and binary) and gRPC", async () => {
    const refusals: Array<[string, Record<string, unknown>, string, string, RegExp]> = [
      [
        "partitions",
        { kafka_partition: 99_999_999 },
        "{}",
        "context.kafka_partition",
        /BARITO_PRODUCER_MAX_TOPIC_PARTITIONS/,
      ],
      ["replication", { kafka_replication_factor: 7 }, "{}", "context.kafka_replication_factor", /brokers.*\(1\)/],
      ["1e400", {}, '{"n":1e400}', "content.n", /finite/],
      ["empty key", {}, '{"ok":1,"":1}', 'content[""]', /empty field name/],
    ];
    for (const protocol of protocols) {
      for (const [name, values, content, field, reason] of refusals) {
        const topic = `cases${counter}`;
        const answer = await send(protocol, baseContext(topic, values), content, `case${counter++}`);
        expect({ protocol, name, final: answer.final, code: answer.code }).toEqual({
          protocol,
          name,
          final: true,
          code: "INVALID_ARGUMENT",
        });
        expect(answer.details[0]?.field.replace(/^items\[0\]\./, "")).toBe(field);
        expect(answer.details[0]?.reason).toMatch(reason);
      }
      // A lone surrogate is kept as U+FFFD, as documented.
      expect((await checkOne(protocol, baseContext("cases"), '{"s":"\\ud800x"}')).ok).toBe(true);
    }
  }, 120_000);

  it("answers context values at and beyond every limit with a final 4xx naming the field, or indexes the log", async () => {
    const limits = fc.record(
      {
        kafka_partition: fc.constantFrom(0, 1, maxPartitions, maxPartitions + 1, 99_999_999, 2_147_483_647, -1),
        // The local cluster has one broker.
        kafka_replication_factor: fc.constantFrom(0, 1, 2, 7, 32_767, 32_768, -1),
        app_max_tps: fc.constantFrom(0, 1, 2_147_483_647, 2_147_483_648, -1),
      },
      { requiredKeys: [] },
    );
    let topicNumber = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...protocols), limits, async (protocol, values) => {
        // A new topic for each request, so the partitions and replication factor are the ones it is created with.
        const topic = `limits${topicNumber++}`;
        // protobuf cannot carry an int32 beyond its range: such values are sent as JSON.
        const int32 = Object.values(values).every((v) => v <= 2_147_483_647);
        const via =
          int32 || protocol === "rest" || protocol === "rest-batch" || protocol === "connect-json" ? protocol : "rest";
        await checkOne(via, baseContext(topic, values), '{"message":"at the limits"}');
      }),
      { numRuns: Number(process.env.HOSTILE_CONTEXT_RUNS ?? 40), ...seed },
    );
  }, 600_000);
});
