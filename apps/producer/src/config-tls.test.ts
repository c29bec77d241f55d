import { ConfigError } from "@barito-flow/config";
import { createTestPki } from "@barito-flow/tls/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { loadProducerConfig } from "./config.js";

const pki = createTestPki();
const ca = pki.ca("ca");
const server = ca.server("server");
const other = ca.server("other");
afterAll(() => pki.remove());

function issues(env: Record<string, string>): Array<{ variable: string; message: string }> {
  try {
    loadProducerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(({ variable, message }) => ({ variable, message }));
    throw err;
  }
  return [];
}

describe("producer TLS settings", () => {
  it("are off by default, and TLSv1.2 is the default minimum", () => {
    const config = loadProducerConfig({});
    expect(config.producer.tls).toBeUndefined();
    expect(config.exporterTls).toBeUndefined();
    const tls = loadProducerConfig({
      BARITO_PRODUCER_TLS_CERT: server.certPath,
      BARITO_PRODUCER_TLS_KEY: server.keyPath,
    });
    expect(tls.producer.tls).toEqual({
      certPath: server.certPath,
      keyPath: server.keyPath,
      clientCaPath: undefined,
      minVersion: "TLSv1.2",
    });
    // The operator port is not covered by the service's pair: it has its own.
    expect(tls.exporterTls).toBeUndefined();
  });

  it("read mTLS, TLSv1.3 and the operator port's pair", () => {
    const config = loadProducerConfig({
      BARITO_PRODUCER_TLS_CERT: server.certPath,
      BARITO_PRODUCER_TLS_KEY: server.keyPath,
      BARITO_PRODUCER_TLS_CLIENT_CA: ca.certPath,
      BARITO_PRODUCER_TLS_MIN_VERSION: "tlsv1.3",
      BARITO_EXPORTER_TLS_CERT: other.certPath,
      BARITO_EXPORTER_TLS_KEY: other.keyPath,
    });
    expect(config.producer.tls).toMatchObject({ clientCaPath: ca.certPath, minVersion: "TLSv1.3" });
    expect(config.exporterTls).toMatchObject({ certPath: other.certPath, minVersion: "TLSv1.2" });
  });

  it("name the variable whose file cannot serve", () => {
    const base = { BARITO_PRODUCER_TLS_CERT: server.certPath, BARITO_PRODUCER_TLS_KEY: server.keyPath };
    expect(issues({ BARITO_PRODUCER_TLS_CERT: server.certPath })).toEqual([
      { variable: "BARITO_PRODUCER_TLS_KEY", message: "is required when BARITO_PRODUCER_TLS_CERT is set" },
    ]);
    expect(issues({ BARITO_PRODUCER_TLS_CLIENT_CA: ca.certPath })).toEqual([
      expect.objectContaining({
        variable: "BARITO_PRODUCER_TLS_CLIENT_CA",
        message: expect.stringContaining("needs TLS"),
      }),
    ]);
    expect(issues({ ...base, BARITO_PRODUCER_TLS_CERT: "/nonexistent/tls.crt" })).toEqual([
      expect.objectContaining({ variable: "BARITO_PRODUCER_TLS_CERT", message: expect.stringContaining("ENOENT") }),
    ]);
    expect(issues({ ...base, BARITO_PRODUCER_TLS_KEY: other.keyPath })).toEqual([
      expect.objectContaining({
        variable: "BARITO_PRODUCER_TLS_KEY",
        message: expect.stringContaining("is not the private key"),
      }),
    ]);
    expect(issues({ ...base, BARITO_PRODUCER_TLS_CLIENT_CA: server.keyPath })).toEqual([
      expect.objectContaining({ variable: "BARITO_PRODUCER_TLS_CLIENT_CA" }),
    ]);
    expect(issues({ ...base, BARITO_PRODUCER_TLS_MIN_VERSION: "TLSv1.1" })).toEqual([
      expect.objectContaining({ variable: "BARITO_PRODUCER_TLS_MIN_VERSION" }),
    ]);
    expect(issues({ BARITO_EXPORTER_TLS_KEY: server.keyPath })).toEqual([
      { variable: "BARITO_EXPORTER_TLS_CERT", message: "is required when BARITO_EXPORTER_TLS_KEY is set" },
    ]);
  });
});
