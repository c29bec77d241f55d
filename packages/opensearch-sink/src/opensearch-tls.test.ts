// TLS plumbing of the client against a local HTTPS endpoint that demands a client certificate (what a
// security-enabled cluster with clientauth_mode REQUIRE does): certificates are generated with openssl per run.
// The local OpenSearch has no security plugin, so the handshake is what is tested here, not OpenSearch itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHttpBulkClient } from "./http-bulk-client.js";
import { createOpenSearchBulkClient } from "./opensearch-bulk-client.js";
import { createOpenSearchClient } from "./opensearch-client.js";

const dir = mkdtempSync(join(tmpdir(), "os-tls-"));
const path = (name: string) => join(dir, name);
const seen: Array<{ authorization?: string; clientCn?: string }> = [];
let server: Server;
let url = "";

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by that CA. */
function makeCertificates(): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    path("ca.key"),
    "-out",
    path("ca.pem"),
  );
  writeFileSync(path("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const [name, cn, ext] of [
    ["server", "127.0.0.1", ["-extfile", path("server.ext")]],
    ["client", "barito-consumer", []],
  ] as const) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.csr`),
    );
    openssl(
      "x509",
      "-req",
      "-in",
      path(`${name}.csr`),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      path(`${name}.pem`),
      ...ext,
    );
  }
  // A second, unrelated CA: a client trusting only it must refuse the server.
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=other-ca",
    "-keyout",
    path("other.key"),
    "-out",
    path("other.pem"),
  );
}

beforeAll(async () => {
  makeCertificates();
  server = createServer(
    {
      key: readFileSync(path("server.key")),
      cert: readFileSync(path("server.pem")),
      ca: readFileSync(path("ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const cn = peer?.subject?.CN;
      seen.push({ authorization: req.headers.authorization, clientCn: Array.isArray(cn) ? cn.join(",") : cn });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ cluster_name: "tls-test", status: "green", number_of_nodes: 1 }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function pingWith(options: Partial<Parameters<typeof createOpenSearchClient>[0]>) {
  const client = createOpenSearchClient({ nodes: [url], requestTimeoutMs: 3_000, ...options });
  try {
    return await createOpenSearchBulkClient(client, { pingTimeoutMs: 3_000 }).ping();
  } finally {
    await client.close();
  }
}

async function pingWithHttpClient(options: Partial<Parameters<typeof createHttpBulkClient>[0]>) {
  const client = createHttpBulkClient({ nodes: [url], requestTimeoutMs: 3_000, pingTimeoutMs: 3_000, ...options });
  try {
    return await client.ping();
  } finally {
    client.close();
  }
}

describe("the sink's HTTP bulk client over TLS", () => {
  it("connects with the CA and a client certificate (mTLS), sending basic auth", async () => {
    seen.length = 0;
    const health = await pingWithHttpClient({
      username: "barito",
      password: "s3cret",
      tls: { ca: path("ca.pem"), cert: path("client.pem"), key: path("client.key") },
    });
    expect(health).toMatchObject({ status: "green" });
    expect(seen.at(-1)).toEqual({
      authorization: `Basic ${Buffer.from("barito:s3cret").toString("base64")}`,
      clientCn: "barito-consumer",
    });
  });

  it("is refused without a client certificate, and refuses a server its CA did not sign", async () => {
    seen.length = 0;
    expect(await pingWithHttpClient({ tls: { ca: path("ca.pem") } })).toBeNull();
    expect(
      await pingWithHttpClient({ tls: { ca: path("other.pem"), cert: path("client.pem"), key: path("client.key") } }),
    ).toBeNull();
    expect(seen).toEqual([]);
  });
});

describe("OpenSearch client over TLS", () => {
  it("connects with the CA and a client certificate (mTLS), sending basic auth", async () => {
    seen.length = 0;
    const health = await pingWith({
      username: "barito",
      password: "s3cret",
      tls: { ca: path("ca.pem"), cert: path("client.pem"), key: path("client.key") },
    });
    expect(health).toMatchObject({ status: "green" });
    expect(seen.at(-1)).toEqual({
      authorization: `Basic ${Buffer.from("barito:s3cret").toString("base64")}`,
      clientCn: "barito-consumer",
    });
  });

  it("is refused without a client certificate, and refuses a server its CA did not sign", async () => {
    seen.length = 0;
    expect(await pingWith({ tls: { ca: path("ca.pem") } })).toBeNull();
    expect(
      await pingWith({ tls: { ca: path("other.pem"), cert: path("client.pem"), key: path("client.key") } }),
    ).toBeNull();
    expect(seen).toEqual([]);
  });
});
