// `barito-flow producer --dry-run` as a process (run from source by tsx) beside the real local Kafka: requests are
// validated and rate-limited and answered with `barito-dry-run: true` on REST, Connect and gRPC, and nothing reaches
// Kafka: the topic a real producer would create does not exist afterwards, nor does the announcement topic.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { Producer } from "@barito-flow/proto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { producerListeners, repoRoot, stopChild } from "./testing/processes.js";
import { restContext, rpcContext } from "./testing/requests.js";

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const run = randomUUID().slice(0, 8);
const prefix = `pdr${run}_`;
const announcements = `${prefix}new_topic_events`;
const admin = createKafkaAdmin({ brokers: [brokers], clientId: `producer-dry-run-it-${run}` });
let child: ChildProcess | undefined;
let rest = 0;
let grpc = 0;

beforeAll(async () => {
  await admin.connect();
  const listeners = await producerListeners();
  ({ rest, grpc } = listeners.ports);
  child = spawn(
    join(repoRoot, "apps/producer/node_modules/.bin/tsx"),
    ["--conditions=@barito-flow/source", join(repoRoot, "apps/producer/src/main.ts"), "producer", "--dry-run"],
    {
      env: {
        ...process.env,
        LOG_LEVEL: "error",
        BARITO_KAFKA_BROKERS: brokers,
        BARITO_KAFKA_TOPIC_PREFIX: prefix,
        BARITO_NEW_TOPIC_EVENT: announcements,
        ...listeners.env,
      },
      stdio: "ignore",
    },
  );
  let status = 0;
  for (let i = 0; i < 600 && status !== 200; i++) {
    status = await fetch(`http://127.0.0.1:${rest}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  if (status !== 200) throw new Error(`the dry-run producer did not become ready (last /readyz status ${status})`);
}, 90_000);

afterAll(async () => {
  if (child) await stopChild(child, "SIGTERM");
  await admin.close();
});

const context = restContext("dry", 1);
const post = (path: string, body: object) =>
  fetch(`http://127.0.0.1:${rest}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("producer --dry-run", () => {
  it("answers as usual with barito-dry-run: true, and writes nothing to Kafka", async () => {
    const accepted = await post("/produce_batch", { context, items: [{ content: { n: 1 } }, { content: { n: 2 } }] });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get("barito-dry-run")).toBe("true");
    expect(await accepted.json()).toMatchObject({ topic: `${prefix}dry_logs` });

    // Still validated and still rate-limited (app_max_tps 1 × the 10 s window = 10 logs), and said so.
    const invalid = await post("/produce", { context: { ...context, es_index_prefix: "" }, content: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("barito-dry-run")).toBe("true");
    const limited = await post("/produce_batch", {
      context,
      items: Array.from({ length: 9 }, () => ({ content: {} })),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("barito-dry-run")).toBe("true");

    const timber = { context: rpcContext("rpc", 100), content: {} };
    for (const transport of [
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc}` }),
      createConnectTransport({ baseUrl: `http://127.0.0.1:${rest}`, httpVersion: "1.1" }),
    ]) {
      let header: string | null = null;
      const answer = await createClient(Producer, transport).produce(timber, {
        onHeader: (headers) => {
          header = headers.get("barito-dry-run");
        },
      });
      expect(answer.topic).toBe(`${prefix}rpc_logs`);
      expect(header).toBe("true");
    }
    const health = await fetch(`http://127.0.0.1:${rest}/healthz`);
    expect(health.headers.get("barito-dry-run")).toBe("true");

    // Nothing was created: a real producer would have made both log topics and the announcement topic by now.
    const topics = await admin.listTopics();
    expect(topics.filter((topic) => topic.startsWith(prefix))).toEqual([]);
  }, 60_000);
});
