// App authentication against the real local Kafka: a missing, unknown or foreign app_secret is refused on every
// protocol (REST /produce and /produce_batch, Connect, gRPC-Web, gRPC Produce and ProduceBatch, each with the
// clients the other producer tests use), and none of what was refused reaches Kafka. Read back with kcat.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { createKafkaAdmin } from "@barito-flow/kafka";
import { Producer, TimberSchema } from "@barito-flow/proto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "@jest/globals";
import { kafkaBrokers as brokers, startInProcessProducer } from "./testing/in-process.js";
import { compressionZstd } from "./transport/compression.js";

const run = randomUUID().slice(0, 8);
const shopSecret = `shop-secret-${run}`;
const billingSecret = `billing-secret-${run}`;
const cleanups: Array<() => Promise<unknown>> = [];
const topics: string[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  const admin = createKafkaAdmin({ brokers: [brokers], clientId: `auth-it-cleanup-${run}` });
  await admin.connect();
  await admin.deleteTopics(topics).catch(() => {});
  await admin.close();
});

async function start(overrides: Record<string, string>) {
  const prefix = `auth${run}${cleanups.length}_`;
  const env = {
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
    BARITO_PRODUCER_REQUEST_TIMEOUT: "5s",
    BARITO_PRODUCER_AUTH: "app-secret",
    BARITO_PRODUCER_AUTH_SECRETS: JSON.stringify({ [shopSecret]: ["shop"], [billingSecret]: ["billing"] }),
    ...overrides,
  };
  topics.push(`${prefix}shop_logs`, `${prefix}billing_logs`, `${prefix}ghost_logs`, `${prefix}new_topic_events`);
  const producer = await startInProcessProducer({
    env,
    clientId: `auth-it-${run}`,
    deliveryTimeoutMs: 5_000,
    adminTimeouts: { requestTimeoutMs: 3_000, pingTimeoutMs: 1_000 },
  });
  cleanups.push(() => producer.close());
  const { rest, grpc, metrics } = producer.urls;
  return {
    prefix,
    rest,
    metrics,
    grpc: createClient(
      Producer,
      createGrpcTransport({ baseUrl: grpc, sendCompression: compressionZstd, acceptCompression: [compressionZstd] }),
    ),
    connect: createClient(Producer, createConnectTransport({ baseUrl: rest, httpVersion: "1.1" })),
    grpcWeb: createClient(Producer, createGrpcWebTransport({ baseUrl: rest, httpVersion: "1.1" })),
  };
}
type Started = Awaited<ReturnType<typeof start>>;

/** The `message` of every record of a topic (Timber values), read by kcat; [] for a topic that does not exist. */
function messagesOf(topic: string): string[] {
  let raw: Buffer;
  try {
    raw = execFileSync("kcat", ["-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%R%s"], {
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    if (/Unknown topic|UNKNOWN_TOPIC/i.test(String((err as { stderr?: Buffer }).stderr ?? ""))) return [];
    throw err;
  }
  const messages: string[] = [];
  for (let offset = 0; offset < raw.length; ) {
    const length = raw.readUInt32BE(offset);
    const timber = fromBinary(TimberSchema, raw.subarray(offset + 4, offset + 4 + length));
    messages.push(String((timber.content as { message?: unknown } | undefined)?.message));
    offset += 4 + length;
  }
  return messages;
}

function topicExists(topic: string): boolean {
  const metadata = JSON.parse(execFileSync("kcat", ["-b", brokers, "-L", "-J"], { timeout: 10_000 }).toString());
  return (metadata.topics as Array<{ topic: string }>).some((t) => t.topic === topic);
}

const contextFor = (topic: string, secret: string | undefined) => ({
  kafkaTopic: topic,
  kafkaPartition: 1,
  kafkaReplicationFactor: 1,
  esIndexPrefix: topic,
  appMaxTps: 1000,
  ...(secret === undefined ? {} : { appSecret: secret }),
});
const jsonContext = (topic: string, secret: string | undefined) => ({
  kafka_topic: topic,
  kafka_partition: 1,
  kafka_replication_factor: 1,
  es_index_prefix: topic,
  app_max_tps: 1000,
  ...(secret === undefined ? {} : { app_secret: secret }),
});

/** Sends one log (or a batch of two) with `message` over `protocol`; the answer as "ok" or "<status> <code>". */
async function send(p: Started, protocol: string, topic: string, secret: string | undefined, message: string) {
  if (protocol.startsWith("rest")) {
    const batch = protocol === "rest batch";
    const body = batch
      ? { context: jsonContext(topic, secret), items: [{ content: { message } }, { content: { message } }] }
      : { context: jsonContext(topic, secret), content: { message } };
    const res = await fetch(`${p.rest}/${batch ? "produce_batch" : "produce"}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status === 200) return "ok";
    const json = (await res.json()) as { code: string };
    return `${res.status} ${json.code}`;
  }
  const [name, method] = protocol.split(" ") as ["grpc" | "connect" | "grpcWeb", "produce" | "produceBatch"];
  const client = p[name];
  const context = contextFor(topic, secret);
  try {
    if (method === "produceBatch") {
      await client.produceBatch({ context, items: [{ content: { message } }, { content: { message } }] });
    } else {
      await client.produce({ context, content: { message } });
    }
    return "ok";
  } catch (err) {
    const error = ConnectError.from(err);
    return `${Code[error.code]} ${error.metadata.get("barito-error-code")}`;
  }
}

const protocols = [
  "rest",
  "rest batch",
  "connect produce",
  "connect produceBatch",
  "grpcWeb produce",
  "grpcWeb produceBatch",
  "grpc produce",
  "grpc produceBatch",
];

describe("app authentication (BARITO_PRODUCER_AUTH=app-secret) on every protocol", () => {
  it("refuses a missing, unknown or foreign app_secret with 401/403 and writes none of it; a valid one arrives", async () => {
    const p = await start({ BARITO_PRODUCER_AUTH_MAX_FAILURES: "0" });
    const answers: Record<string, string[]> = {};
    for (const protocol of protocols) {
      answers[protocol] = [
        await send(p, protocol, "shop", undefined, `refused-missing ${protocol}`),
        await send(p, protocol, "shop", "not-a-secret", `refused-unknown ${protocol}`),
        await send(p, protocol, "shop", billingSecret, `refused-foreign ${protocol}`),
        await send(p, protocol, "ghost", "not-a-secret", `refused-ghost ${protocol}`),
      ];
    }
    const rest = ["401 UNAUTHENTICATED", "401 UNAUTHENTICATED", "403 PERMISSION_DENIED", "401 UNAUTHENTICATED"];
    const rpc = [
      "Unauthenticated UNAUTHENTICATED",
      "Unauthenticated UNAUTHENTICATED",
      "PermissionDenied PERMISSION_DENIED",
      "Unauthenticated UNAUTHENTICATED",
    ];
    expect(answers).toEqual(Object.fromEntries(protocols.map((name) => [name, name.startsWith("rest") ? rest : rpc])));

    // Control messages, sent after the refused ones, on the same topic and every protocol.
    for (const protocol of protocols)
      expect(await send(p, protocol, "shop", shopSecret, `control ${protocol}`)).toBe("ok");
    const expected = protocols.flatMap((protocol) =>
      protocol.includes("atch") ? [`control ${protocol}`, `control ${protocol}`] : [`control ${protocol}`],
    );
    let messages: string[] = [];
    const deadline = Date.now() + 20_000;
    while (messages.length < expected.length && Date.now() < deadline) {
      messages = messagesOf(`${p.prefix}shop_logs`);
      if (messages.length < expected.length) await new Promise((r) => setTimeout(r, 250));
    }
    // Everything that arrived is a control message: the refused requests, sent first, left nothing in the topic.
    expect(messages.sort()).toEqual(expected.sort());
    // Nothing more shows up over a bounded wait either.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(messagesOf(`${p.prefix}shop_logs`)).toHaveLength(expected.length);
    // The topic only refused requests named was never even created.
    expect(topicExists(`${p.prefix}ghost_logs`)).toBe(false);

    const metrics = await (await fetch(`${p.metrics}/metrics`)).text();
    const failures = (reason: string) =>
      Number(new RegExp(`barito_producer_auth_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1]);
    expect([failures("missing_secret"), failures("unknown_secret"), failures("wrong_topic")]).toEqual([8, 16, 8]);
    for (const secret of [shopSecret, billingSecret, "not-a-secret"]) expect(metrics).not.toContain(secret);
  }, 90_000);

  it("locks out an address after BARITO_PRODUCER_AUTH_MAX_FAILURES: 429 / RESOURCE_EXHAUSTED with Retry-After, even for a valid secret", async () => {
    const p = await start({ BARITO_PRODUCER_AUTH_MAX_FAILURES: "3", BARITO_PRODUCER_AUTH_LOCKOUT: "30s" });
    for (let i = 0; i < 3; i++) expect(await send(p, "rest", "shop", `guess-${i}`, "x")).toBe("401 UNAUTHENTICATED");
    const locked = await fetch(`${p.rest}/produce`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: jsonContext("shop", shopSecret), content: { message: "locked" } }),
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(25);
    expect(await locked.json()).toMatchObject({ code: "AUTH_LOCKED_OUT" });
    const grpc = ConnectError.from(
      await p.grpc
        .produceBatch({ context: contextFor("shop", shopSecret), items: [{ content: { message: "locked" } }] })
        .catch((err: unknown) => err),
    );
    expect([grpc.code, grpc.metadata.get("barito-error-code")]).toEqual([Code.ResourceExhausted, "AUTH_LOCKED_OUT"]);
    expect(Number(grpc.metadata.get("retry-after"))).toBeGreaterThan(25);
    expect(messagesOf(`${p.prefix}shop_logs`)).toEqual([]);
  });

  it("takes the allowed secrets from a BaritoMarket profile endpoint", async () => {
    // Answers as BaritoMarket's GET /api/v2/profile: 200 with the app's profile, 404 for an unknown secret.
    let asked = 0;
    const market = createServer((req, res) => {
      asked++;
      const url = new URL(req.url ?? "/", "http://market");
      const topic =
        url.searchParams.get("access_token") === "market-token"
          ? { [shopSecret]: "shop" }[url.searchParams.get("app_secret") ?? ""]
          : undefined;
      if (topic === undefined) res.writeHead(404, { "content-type": "application/json" }).end('{"success":false}');
      else
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ meta: { kafka: { topic_name: topic } } }));
    });
    await new Promise<void>((resolve) => market.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      market.closeAllConnections();
      return new Promise((resolve) => market.close(resolve));
    });
    const p = await start({
      BARITO_PRODUCER_AUTH_SECRETS: "",
      BARITO_PRODUCER_AUTH_MARKET_URL: `http://127.0.0.1:${(market.address() as AddressInfo).port}/api/v2/profile`,
      BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN: "market-token",
    });
    expect(await send(p, "rest", "shop", shopSecret, "market control")).toBe("ok");
    expect(await send(p, "grpc produceBatch", "shop", shopSecret, "market control")).toBe("ok");
    expect(await send(p, "rest", "billing", shopSecret, "refused")).toBe("403 PERMISSION_DENIED");
    expect(await send(p, "connect produce", "shop", billingSecret, "refused")).toBe("Unauthenticated UNAUTHENTICATED");
    // The known secret was asked for once and then answered from the cache.
    expect(asked).toBe(2);
    let messages: string[] = [];
    for (let i = 0; i < 40 && messages.length < 3; i++) {
      messages = messagesOf(`${p.prefix}shop_logs`);
      if (messages.length < 3) await new Promise((r) => setTimeout(r, 250));
    }
    expect(messages).toEqual(["market control", "market control", "market control"]);
  });
});
