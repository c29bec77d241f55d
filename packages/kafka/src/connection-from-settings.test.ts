import { describe, expect, it } from "@jest/globals";
import { connectionFromSettings } from "./connection-from-settings.js";

describe("connectionFromSettings()", () => {
  it("maps TLS file paths and SASL, and leaves them out when unset", () => {
    expect(connectionFromSettings({ brokers: ["a:9092"], clientId: "c", tls: undefined, sasl: undefined })).toEqual({
      brokers: ["a:9092"],
      clientId: "c",
    });
    expect(
      connectionFromSettings({
        brokers: ["a:9093"],
        clientId: "c",
        tls: { caCertPath: "/ca.pem", clientCertPath: undefined, clientKeyPath: undefined },
        sasl: { mechanism: "scram-sha-512", username: "u", password: "p" },
      }),
    ).toEqual({
      brokers: ["a:9093"],
      clientId: "c",
      tls: { ca: "/ca.pem" },
      sasl: { mechanism: "scram-sha-512", username: "u", password: "p" },
    });
  });
});
