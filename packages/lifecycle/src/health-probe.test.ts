import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createTestPki } from "@barito-flow/tls/testing";
import { healthProbeTarget, probeHealth } from "./health-probe.js";

describe("healthProbeTarget", () => {
  it("reaches an every-address listener on loopback, a bound one on its own host", () => {
    expect(healthProbeTarget({})).toEqual({ host: "127.0.0.1", port: 8008, tls: false });
    expect(healthProbeTarget({ EXPORTER_PORT: "9000" })).toEqual({ host: "127.0.0.1", port: 9000, tls: false });
    expect(healthProbeTarget({ EXPORTER_PORT: "0.0.0.0:9001" })).toMatchObject({ host: "127.0.0.1", port: 9001 });
    expect(healthProbeTarget({ EXPORTER_PORT: "[::]:9002" })).toMatchObject({ host: "127.0.0.1", port: 9002 });
    expect(healthProbeTarget({ EXPORTER_PORT: "10.1.2.3:9003" })).toMatchObject({ host: "10.1.2.3", port: 9003 });
    expect(healthProbeTarget({ EXPORTER_PORT: "[::1]:9004" })).toMatchObject({ host: "::1", port: 9004 });
  });

  it("takes HTTPS when the operator port has a certificate", () => {
    expect(healthProbeTarget({ BARITO_EXPORTER_TLS_CERT: "/tls/cert.pem" })?.tls).toBe(true);
    expect(healthProbeTarget({ BARITO_EXPORTER_TLS_CERT: " " })?.tls).toBe(false);
  });

  it("gives no target for an address the app would refuse", () => {
    for (const address of [":0", ":65536", ":http", "host:", "nonsense"]) {
      expect(healthProbeTarget({ EXPORTER_PORT: address })).toBeUndefined();
    }
  });
});

describe("probeHealth (real listeners)", () => {
  const servers: Server[] = [];
  const pki = createTestPki();
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    pki.remove();
  });
  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };
  const answering = (status: number) => (_req: unknown, res: { writeHead(s: number): void; end(): void }) => {
    res.writeHead(status);
    res.end();
  };

  it("is true for a 200 and false for any other answer, or none", async () => {
    const healthy = await listen(createHttpServer(answering(200)));
    const failing = await listen(createHttpServer(answering(503)));
    expect(await probeHealth({ host: "127.0.0.1", port: healthy, tls: false })).toBe(true);
    expect(await probeHealth({ host: "127.0.0.1", port: failing, tls: false })).toBe(false);
    const closed = await listen(createHttpServer());
    await new Promise((resolve) => servers.pop()?.close(resolve));
    expect(await probeHealth({ host: "127.0.0.1", port: closed, tls: false })).toBe(false);
  });

  it("is false for a listener that accepts and never answers, after its timeout", async () => {
    const silent = await listen(createHttpServer(() => {}));
    expect(await probeHealth({ host: "127.0.0.1", port: silent, tls: false }, 200)).toBe(false);
  });

  it("speaks TLS to a TLS listener whose certificate names another host, and plain HTTP fails there", async () => {
    const issued = pki.ca("probe").server("operator", { sans: ["DNS:barito-producer.example"] });
    const port = await listen(
      createHttpsServer({ cert: readFileSync(issued.certPath), key: readFileSync(issued.keyPath) }, answering(200)),
    );
    expect(await probeHealth({ host: "127.0.0.1", port, tls: true })).toBe(true);
    expect(await probeHealth({ host: "127.0.0.1", port, tls: false })).toBe(false);
  });
});
