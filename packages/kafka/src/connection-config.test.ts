import { describe, expect, it } from "@jest/globals";
import { buildConnectionConfig, integerOption } from "./connection-config.js";
import { KafkaError } from "./errors.js";
import type { KafkaConnectionOptions } from "./types.js";

const base: KafkaConnectionOptions = { brokers: ["127.0.0.1:9092"], clientId: "barito-flow-test" };
const pem = (label: string) => `-----BEGIN ${label}-----\nMIIBfake\n-----END ${label}-----\n`;

/** Runs `build` and returns the KafkaError it threw; fails the test when it throws nothing or something else. */
function configError(options: unknown): KafkaError {
  try {
    buildConnectionConfig(options as KafkaConnectionOptions);
  } catch (error) {
    if (error instanceof KafkaError) return error;
    throw error;
  }
  throw new Error("expected buildConnectionConfig to throw");
}

describe("buildConnectionConfig()", () => {
  it("maps a plain connection to plaintext with the brokers trimmed and no secrets", () => {
    const config = buildConnectionConfig({ brokers: [" kafka-1:9092", "kafka-2:9093 "], clientId: "producer" });
    expect(config.kafkaJS).toEqual({ brokers: ["kafka-1:9092", "kafka-2:9093"], clientId: "producer" });
    expect(config.properties).toEqual({ "security.protocol": "plaintext" });
    expect(config.secrets).toEqual([]);
  });

  it("accepts IPv6 literals and hostnames with dashes and underscores", () => {
    const config = buildConnectionConfig({ ...base, brokers: ["[::1]:9092", "my_kafka-0.svc.local:19092"] });
    expect(config.kafkaJS.brokers).toEqual(["[::1]:9092", "my_kafka-0.svc.local:19092"]);
  });

  it("treats tls: false like no TLS and tls: true as TLS with the system CA store", () => {
    expect(buildConnectionConfig({ ...base, tls: false }).properties).toEqual({ "security.protocol": "plaintext" });
    expect(buildConnectionConfig({ ...base, tls: true }).properties).toEqual({ "security.protocol": "ssl" });
  });

  it("passes PEM content inline and everything else as file locations", () => {
    const inline = buildConnectionConfig({
      ...base,
      tls: { ca: pem("CERTIFICATE"), cert: pem("CERTIFICATE"), key: pem("PRIVATE KEY") },
    });
    expect(inline.properties).toEqual({
      "security.protocol": "ssl",
      "ssl.ca.pem": pem("CERTIFICATE"),
      "ssl.certificate.pem": pem("CERTIFICATE"),
      "ssl.key.pem": pem("PRIVATE KEY"),
    });
    expect(inline.secrets).toEqual([pem("PRIVATE KEY")]);

    const files = buildConnectionConfig({
      ...base,
      tls: { ca: "/etc/kafka/ca.pem", cert: "/etc/kafka/client.pem", key: "/etc/kafka/client.key" },
    });
    expect(files.properties).toEqual({
      "security.protocol": "ssl",
      "ssl.ca.location": "/etc/kafka/ca.pem",
      "ssl.certificate.location": "/etc/kafka/client.pem",
      "ssl.key.location": "/etc/kafka/client.key",
    });
    // A path is not a secret; only the key material or its passphrase is.
    expect(files.secrets).toEqual([]);
  });

  it("records the key passphrase as a secret and can switch certificate verification off", () => {
    const config = buildConnectionConfig({
      ...base,
      tls: { cert: "/c.pem", key: "/k.pem", keyPassword: "key-passphrase-1", rejectUnauthorized: false },
    });
    expect(config.properties).toMatchObject({
      "ssl.key.password": "key-passphrase-1",
      "enable.ssl.certificate.verification": false,
      "ssl.endpoint.identification.algorithm": "none",
    });
    expect(config.secrets).toEqual(["key-passphrase-1"]);
  });

  it("keeps certificate verification on unless rejectUnauthorized is exactly false", () => {
    const config = buildConnectionConfig({ ...base, tls: { ca: "/ca.pem", rejectUnauthorized: true } });
    expect(config.properties).not.toHaveProperty("enable.ssl.certificate.verification");
    expect(config.properties).not.toHaveProperty("ssl.endpoint.identification.algorithm");
  });

  it.each([
    ["plain", undefined, "sasl_plaintext", "PLAIN"],
    ["scram-sha-256", true, "sasl_ssl", "SCRAM-SHA-256"],
    ["scram-sha-512", { ca: "/ca.pem" }, "sasl_ssl", "SCRAM-SHA-512"],
  ] as const)("maps SASL %s (tls %j) to %s / %s", (mechanism, tls, protocol, librdkafkaMechanism) => {
    const config = buildConnectionConfig({
      ...base,
      ...(tls === undefined ? {} : { tls }),
      sasl: { mechanism, username: "barito", password: "s3cret-password" },
    });
    expect(config.properties).toMatchObject({
      "security.protocol": protocol,
      "sasl.mechanisms": librdkafkaMechanism,
      "sasl.username": "barito",
      "sasl.password": "s3cret-password",
    });
    expect(config.secrets).toContain("s3cret-password");
  });

  it.each([
    [null, "options"],
    [{ clientId: "x" }, "brokers"],
    [{ ...base, brokers: [] }, "brokers"],
    [{ ...base, brokers: "127.0.0.1:9092" }, "brokers"],
    [{ ...base, brokers: ["127.0.0.1:9092", "no-port"] }, "brokers[1]"],
    [{ ...base, brokers: ["host:0"] }, "brokers[0]"],
    [{ ...base, brokers: ["host:65536"] }, "brokers[0]"],
    [{ ...base, brokers: ["http://host:9092"] }, "brokers[0]"],
    [{ ...base, brokers: [9092] }, "brokers[0]"],
    [{ ...base, clientId: "" }, "clientId"],
    [{ ...base, clientId: "   " }, "clientId"],
    [{ ...base, clientId: 7 }, "clientId"],
    [{ ...base, tls: "yes" }, "tls"],
    [{ ...base, tls: { ca: "" } }, "tls.ca"],
    [{ ...base, tls: { ca: 42 } }, "tls.ca"],
    [{ ...base, tls: { cert: "/c.pem" } }, "tls.key"],
    [{ ...base, tls: { key: "/k.pem" } }, "tls.cert"],
    [{ ...base, tls: { keyPassword: 1 } }, "tls.keyPassword"],
    [{ ...base, tls: { rejectUnauthorized: "false" } }, "tls.rejectUnauthorized"],
    [{ ...base, sasl: "plain" }, "sasl"],
    [{ ...base, sasl: { mechanism: "gssapi", username: "u", password: "p" } }, "sasl.mechanism"],
    [{ ...base, sasl: { mechanism: "plain", username: "", password: "p" } }, "sasl.username"],
    [{ ...base, sasl: { mechanism: "plain", username: "u" } }, "sasl.password"],
    [{ ...base, librdkafka: "linger.ms=5" }, "librdkafka"],
    [{ ...base, librdkafka: { "linger.ms": { value: 5 } } }, "librdkafka.linger.ms"],
    [{ ...base, patchedBinding: "false" }, "patchedBinding"],
  ])("rejects %j with INVALID_CONFIG at field %s", (options, field) => {
    const error = configError(options);
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.retriable).toBe(false);
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it("never puts a secret into a validation error", () => {
    const password = "hunter2-very-secret";
    const keyPassword = "passphrase-very-secret";
    const errors = [
      configError({ ...base, brokers: ["bad"], sasl: { mechanism: "plain", username: "u", password } }),
      configError({ ...base, sasl: { mechanism: "kerberos", username: "u", password } }),
      configError({ ...base, sasl: { mechanism: "plain", username: "", password } }),
      configError({ ...base, tls: { cert: "/c.pem", keyPassword } }),
    ];
    for (const error of errors) {
      const serialised = `${error.message} ${JSON.stringify(error)}`;
      expect(serialised).not.toContain(password);
      expect(serialised).not.toContain(keyPassword);
    }
  });

  it("accepts valid librdkafka overrides without copying them into the connection properties", () => {
    const config = buildConnectionConfig({ ...base, librdkafka: { "linger.ms": 20, debug: "broker", "x.y": true } });
    expect(config.properties).toEqual({ "security.protocol": "plaintext" });
  });
});

describe("integerOption()", () => {
  it("returns the fallback for undefined and the value when it is an integer in range", () => {
    expect(integerOption("lingerMs", undefined, 5, 0, 100)).toBe(5);
    expect(integerOption("lingerMs", 0, 5, 0, 100)).toBe(0);
    expect(integerOption("lingerMs", 100, 5, 0, 100)).toBe(100);
  });

  it.each([-1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10", null])("rejects %p naming the field", (value) => {
    let thrown: unknown;
    try {
      integerOption("lingerMs", value, 5, 0, 100);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KafkaError);
    expect(thrown).toMatchObject({ code: "INVALID_CONFIG", field: "lingerMs", retriable: false });
  });
});
