// TLS and mutual TLS on the producer's ports, with real clients (curl, connect-node, grpc C-core through Debian's
// python3-grpcio) on the real Kafka: identities reach the rate limiter, refused certificates never reach Kafka, and a
// certificate rotates under connected clients.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as connectHttp2, type ClientHttp2Session } from "node:http2";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { noopLogger } from "@barito-flow/logger";
import { Producer, TimberCollectionSchema } from "@barito-flow/proto";
import { createLocalRateLimiter } from "@barito-flow/rate-limit";
import { createTlsCertificates, type TlsCertificates } from "@barito-flow/tls";
import { createTestPki, type IssuedCert } from "@barito-flow/tls/testing";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type InProcessProducer, startInProcessProducer } from "./testing/in-process.js";
import { restContext, rpcContext } from "./testing/requests.js";

const run = randomUUID().slice(0, 8);
const pki = createTestPki();
const ca = pki.ca("ca");
const rogue = pki.ca("rogue");
const client = ca.client("client", { sans: ["URI:spiffe://barito/shop"] });
const cnOnly = ca.client("cn-only");
const expired = ca.client("expired", { expired: true });
const stranger = rogue.client("stranger");
// The server's files live where a rotation can replace them.
const serverDir = join(pki.dir, "server");
mkdirSync(serverDir);
const serverFiles = { certPath: join(serverDir, "tls.crt"), keyPath: join(serverDir, "tls.key") };
const install = (from: IssuedCert) => {
  copyFileSync(from.keyPath, serverFiles.keyPath);
  copyFileSync(from.certPath, serverFiles.certPath);
};
install(ca.server("server"));
const operator = ca.server("operator");

const takes: Array<string | undefined> = [];
const refusals: Array<Record<string, unknown>> = [];
const tlsLogger = {
  ...noopLogger,
  warn: (msg: string, meta?: Record<string, unknown>) => {
    if (msg === "TLS handshake refused") refusals.push(meta ?? {});
  },
  child: () => tlsLogger,
};
let producer: InProcessProducer;
let serviceTls: TlsCertificates;
let operatorTls: TlsCertificates;
let ports: { rest?: number; grpc: number; metrics?: number };
const topics: string[] = [];

const context = (topic: string) => restContext(topic, 1_000_000);
const topicName = (name: string) => {
  topics.push(`${name}${run}_logs`);
  return `${name}${run}`;
};

beforeAll(async () => {
  const limiter = createLocalRateLimiter({ intervalMs: 10_000 });
  const rateLimiter = {
    take: (key: string, cost: number, tps: number, caller?: string) => {
      takes.push(caller);
      return limiter.take(key, cost, tps);
    },
    close: () => limiter.close(),
  };
  serviceTls = createTlsCertificates({
    paths: { ...serverFiles, clientCaPath: ca.certPath },
    pollIntervalMs: 100,
    logger: tlsLogger,
  });
  operatorTls = createTlsCertificates({ paths: operator, pollIntervalMs: 0 });
  producer = await startInProcessProducer({
    env: { BARITO_NEW_TOPIC_EVENT: `it${run}_new_topic_events` },
    clientId: `tls-${run}`,
    deliveryTimeoutMs: 10_000,
    rateLimiter,
    tls: { service: serviceTls, operator: operatorTls },
  });
  ports = producer.ports;
});

afterAll(async () => {
  const created = [`it${run}_new_topic_events`];
  for (const topic of topics) if (await producer.admin.topicExists(topic)) created.push(topic);
  await producer.admin.deleteTopics(created).catch(() => {});
  await producer.close();
  serviceTls.close();
  operatorTls.close();
  pki.remove();
});

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "--max-time", "10", "--cacert", ca.certPath, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const withCert = (cert: IssuedCert) => ["--cert", cert.certPath, "--key", cert.keyPath];
const produceArgs = (topic: string) => [
  "-H",
  "content-type: application/json",
  "--data",
  JSON.stringify({ context: context(topic), content: { hello: "tls" } }),
  `https://localhost:${ports.rest}/produce`,
];

const nodeOptions = (cert?: IssuedCert) => ({
  ca: readFileSync(ca.certPath),
  ...(cert ? { cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) } : {}),
});
const batch = (topic: string) => ({
  context: rpcContext(topic, 1_000_000),
  items: [{ content: { hello: "connect" } }],
});

/** One ProduceBatch through grpc C-core (python3-grpcio from Debian, not the pyenv python on PATH). */
function pythonGrpc(topic: string, cert?: IssuedCert): Promise<{ code: number; out: string }> {
  const message = toBinary(
    TimberCollectionSchema,
    create(TimberCollectionSchema, {
      context: rpcContext(topic, 1_000_000),
      items: [{ content: { hello: "c-core" } }],
    }),
  );
  const script = join(pki.dir, "grpc_client.py");
  writeFileSync(
    script,
    [
      "import sys, base64, grpc",
      "root = open(sys.argv[2], 'rb').read()",
      "key = open(sys.argv[4], 'rb').read() if len(sys.argv) > 4 else None",
      "chain = open(sys.argv[3], 'rb').read() if len(sys.argv) > 4 else None",
      "creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=chain)",
      "with grpc.secure_channel('localhost:' + sys.argv[1], creds) as channel:",
      "    call = channel.unary_unary('/producer.Producer/ProduceBatch', request_serializer=None, response_deserializer=None)",
      "    try:",
      "        answer = call(base64.b64decode(sys.stdin.read()), timeout=10)",
      "        print('OK ' + answer.hex())",
      "    except grpc.RpcError as err:",
      "        print('ERR ' + str(err.code()) + ' ' + str(err.details()))",
      "        sys.exit(3)",
      "",
    ].join("\n"),
  );
  const args = [script, String(ports.grpc), ca.certPath, ...(cert ? [cert.certPath, cert.keyPath] : [])];
  return new Promise((resolve) => {
    const child = execFile("/usr/bin/python3", args, { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    child.stdin?.end(Buffer.from(message).toString("base64"));
  });
}

const closed = /SSL_ERROR_SYSCALL|Connection reset|Empty reply/;

describe("producer over TLS with client certificates (real Kafka)", () => {
  it("serves curl over HTTPS: /produce with a client certificate, /readyz on the service and operator ports", async () => {
    const produced = await curl([...withCert(client), ...produceArgs(topicName("curl"))]);
    expect(produced).toMatchObject({ code: 0, stdout: `{"topic":"curl${run}_logs"}` });
    const ready = await curl([
      ...withCert(client),
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{ssl_verify_result}",
      `https://localhost:${ports.rest}/readyz`,
    ]);
    expect(ready.stdout).toBe("200 0");
    // The operator port has its own certificate and asks for none from its callers (probes, Prometheus).
    const metrics = await curl(["-w", "\n%{http_code}", `https://127.0.0.1:${ports.metrics}/readyz`]);
    expect(metrics.stdout).toMatch(/\n200$/);
    expect(takes).toContain("URI:spiffe://barito/shop");
  });

  it("refuses TLS 1.1, and a cleartext request to the TLS port", async () => {
    const old = await curl([
      ...withCert(client),
      "--tlsv1.1",
      "--tls-max",
      "1.1",
      `https://localhost:${ports.rest}/healthz`,
    ]);
    expect(old.code).not.toBe(0);
    const plain = await curl([`http://127.0.0.1:${ports.rest}/healthz`]);
    expect(plain.stdout).not.toContain('"status"');
  });

  it("serves Node's connect client: gRPC on the h2 port, Connect on the HTTPS port, the identity to the limiter", async () => {
    const grpc = createClient(
      Producer,
      createGrpcTransport({ baseUrl: `https://localhost:${ports.grpc}`, nodeOptions: nodeOptions(cnOnly) }),
    );
    expect((await grpc.produceBatch(batch(topicName("grpc")))).topic).toBe(`grpc${run}_logs`);
    expect(takes.at(-1)).toBe("CN=cn-only");
    const connect = createClient(
      Producer,
      createConnectTransport({
        baseUrl: `https://localhost:${ports.rest}`,
        httpVersion: "1.1",
        nodeOptions: nodeOptions(client),
      }),
    );
    expect((await connect.produceBatch(batch(topicName("connect")))).topic).toBe(`connect${run}_logs`);
    expect(takes.at(-1)).toBe("URI:spiffe://barito/shop");
  });

  it("serves grpc C-core (python3-grpcio) with a client certificate, and it is refused without one", async () => {
    const ok = await pythonGrpc(topicName("ccore"), client);
    expect(ok).toMatchObject({ code: 0, out: expect.stringMatching(/^OK /) });
    expect(Buffer.from(ok.out.trim().slice(3), "hex").toString()).toContain(`ccore${run}_logs`);
    const refusedTopic = topicName("ccorerefused");
    const refused = await pythonGrpc(refusedTopic);
    expect(refused.out).toMatch(/^ERR StatusCode.UNAVAILABLE/);
    expect(await producer.admin.topicExists(`${refusedTopic}_logs`)).toBe(false);
  }, 40_000);

  it.each([
    ["an expired", expired, closed, /client certificate refused: CERT_HAS_EXPIRED/],
    ["another CA's", stranger, closed, /client certificate refused: UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/],
    ["no", undefined, /alert (certificate required|handshake failure)/, /peer did not return a certificate/],
  ] as const)(
    "refuses %s client certificate at the handshake, and nothing reaches Kafka",
    async (_, cert, alert, reason) => {
      const topic = topicName(`refused${cert ? "x" : "none"}`);
      refusals.length = 0;
      // TLS 1.2, where the client's certificate is judged before its handshake ends. Without a certificate OpenSSL
      // answers with an alert; a certificate that does not verify, Node judges as the handshake completes and closes
      // the connection before reading a byte, without an alert (the reason is in the server's log line). Over TLS 1.3
      // the client sends its request at once, and either refusal may reach it as a reset.
      const answer = await curl([...(cert ? withCert(cert) : []), "--tls-max", "1.2", ...produceArgs(topic)]);
      expect(answer.code).not.toBe(0);
      expect(answer.stdout).toBe("");
      expect(answer.stderr).toMatch(alert);
      const tls13 = await curl([...(cert ? withCert(cert) : []), ...produceArgs(topic)]);
      expect(tls13.code).not.toBe(0);
      expect(tls13.stdout).toBe("");
      expect(refusals.length).toBeGreaterThanOrEqual(2);
      expect(refusals).toContainEqual(
        expect.objectContaining({
          listener: "rest",
          reason: expect.stringMatching(reason),
          remoteAddress: "127.0.0.1",
        }),
      );
      // And Node's TLS client is refused too.
      const connect = createClient(
        Producer,
        createConnectTransport({
          baseUrl: `https://localhost:${ports.rest}`,
          httpVersion: "1.1",
          nodeOptions: nodeOptions(cert),
        }),
      );
      await expect(connect.produceBatch(batch(topic))).rejects.toThrow();
      expect(await producer.admin.topicExists(`${topic}_logs`)).toBe(false);
    },
  );

  it("rotates the certificate under connected clients: open sessions keep working, new ones get the new one", async () => {
    const subject = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connectTls(
          {
            host: "127.0.0.1",
            port: ports.grpc,
            servername: "localhost",
            ALPNProtocols: ["h2"],
            ...nodeOptions(client),
          },
          () => {
            resolve(socket.getPeerCertificate().subject.CN as string);
            socket.destroy();
          },
        );
        socket.on("error", reject);
      });
    expect(await subject()).toBe("server");
    const session: ClientHttp2Session = connectHttp2(`https://localhost:${ports.grpc}`, nodeOptions(client));
    await new Promise((resolve, reject) => session.once("connect", resolve).once("error", reject));
    const grpc = createClient(
      Producer,
      createGrpcTransport({ baseUrl: `https://localhost:${ports.grpc}`, nodeOptions: nodeOptions(client) }),
    );
    const topic = topicName("rotation");
    await grpc.produceBatch(batch(topic));

    install(ca.server("rotated"));
    const end = Date.now() + 10_000;
    while ((await subject()) !== "rotated") {
      if (Date.now() > end) throw new Error("the new certificate was not served within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    // The session opened before the rotation still has the old certificate, and still serves calls.
    expect(
      (session.socket as unknown as { getPeerCertificate(): { subject: { CN: string } } }).getPeerCertificate().subject
        .CN,
    ).toBe("server");
    const status = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ":method": "GET", ":path": "/healthz" });
      stream.on("response", (headers) => resolve(String(headers[":status"])));
      stream.on("error", reject);
      stream.resume();
    });
    expect(status).not.toBe("");
    expect((await grpc.produceBatch(batch(topic))).topic).toBe(`${topic}_logs`);
    session.close();
    const curled = await curl([
      "-v",
      ...withCert(client),
      "-o",
      "/dev/null",
      `https://localhost:${ports.rest}/healthz`,
    ]);
    expect(curled.stderr).toMatch(/subject: CN=rotated/);
  });
});
