// Runnable example: `pnpm --filter @barito-flow/tls build`, then from the repository root
// `node packages/tls/examples/quick-start.mjs`. It makes a throwaway CA with /usr/bin/openssl, serves HTTPS with
// mutual TLS on 127.0.0.1, calls itself with a client certificate, rotates the server certificate and calls again.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { callerIdentity, createHttpListener, createTlsCertificates } from "@barito-flow/tls";
import { createTestPki } from "@barito-flow/tls/testing";

const pki = createTestPki();
const ca = pki.ca("example-ca");
const server = ca.server("server");
const client = ca.client("client", { sans: ["URI:spiffe://example/client"] });

const certificates = createTlsCertificates({
  paths: { certPath: server.certPath, keyPath: server.keyPath, clientCaPath: ca.certPath },
  minVersion: "TLSv1.3",
  logger: { ...console, child: () => console },
});
const listener = createHttpListener(
  (req, res) => res.end(`hello ${callerIdentity(req.socket)}\n`),
  certificates,
  "example",
);
await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
const { port } = listener.address();

const call = () =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: readFileSync(ca.certPath),
        cert: readFileSync(client.certPath),
        key: readFileSync(client.keyPath),
        agent: false,
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () =>
          resolve(`${text.trim()} (server certificate ${res.socket.getPeerCertificate().subject.CN})`),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });

console.log(await call());
// A rotation: the files at the same paths change (here by hand; in Kubernetes the Secret volume does it).
const next = ca.server("server", { cn: "server-rotated" });
console.log("rotated:", certificates.reload(), next.certPath);
console.log(await call());
listener.close();
certificates.close();
pki.remove();
