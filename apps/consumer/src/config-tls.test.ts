import { ConfigError } from "@barito-flow/config";
import { createTestPki } from "@barito-flow/tls/testing";
import { afterAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./config.js";

const pki = createTestPki();
const ca = pki.ca("ca");
const server = ca.server("server");
const other = ca.server("other");
afterAll(() => pki.remove());

describe("consumer operator-port TLS settings", () => {
  it("are off by default and read the pair and the minimum version", () => {
    expect(loadConsumerConfig({}).exporterTls).toBeUndefined();
    expect(
      loadConsumerConfig({
        BARITO_EXPORTER_TLS_CERT: server.certPath,
        BARITO_EXPORTER_TLS_KEY: server.keyPath,
        BARITO_EXPORTER_TLS_MIN_VERSION: "TLSv1.3",
      }).exporterTls,
    ).toEqual({ certPath: server.certPath, keyPath: server.keyPath, clientCaPath: undefined, minVersion: "TLSv1.3" });
  });

  it("name the variable whose file cannot serve", () => {
    let error: unknown;
    try {
      loadConsumerConfig({ BARITO_EXPORTER_TLS_CERT: server.certPath, BARITO_EXPORTER_TLS_KEY: other.keyPath });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({
        variable: "BARITO_EXPORTER_TLS_KEY",
        message: expect.stringContaining("is not the private key"),
      }),
    ]);
  });
});
