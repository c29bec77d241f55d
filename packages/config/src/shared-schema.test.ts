import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./load-config.js";
import { redactConfig } from "./redact-config.js";
import {
  allIssues,
  checkSharedEnv,
  inertSharedVariables,
  type KafkaConnectionConfig,
  sharedEnvShape,
  toSharedConfig,
} from "./shared-schema.js";

// What an app's schema does with the shared fragment, and nothing else.
const sharedSchema = z
  .object(sharedEnvShape)
  .superRefine(checkSharedEnv, allIssues)
  .transform((env) => toSharedConfig(env, env, "example-client", inertSharedVariables));
const load = (env: Record<string, string>) => loadConfig(sharedSchema, env);

describe("the shared fragment", () => {
  it("has the barito defaults and the app's client id when nothing is set", () => {
    const config = load({});
    const kafka: KafkaConnectionConfig = config.kafka;
    expect(kafka).toMatchObject({ brokers: ["localhost:9092"], clientId: "example-client", tls: undefined });
    expect(config.metrics).toEqual({
      address: { host: "0.0.0.0", port: 8008 },
      pushUrl: undefined,
      pushIntervalMs: 30_000,
    });
    expect(config.log).toEqual({ level: "info", format: "pretty" });
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(config.inertVariables).toEqual([]);
  });

  it("checks the Kafka TLS and SASL combinations together with single variables", () => {
    const env = {
      BARITO_KAFKA_TLS_CA_CERT: "/ca.pem",
      BARITO_KAFKA_SASL_USERNAME: "u",
      BARITO_SHUTDOWN_TIMEOUT: "soon",
    };
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(
      /\(3 problems\):\n {2}- BARITO_SHUTDOWN_TIMEOUT: .*\n {2}- BARITO_KAFKA_TLS_CA_CERT: .*\n {2}- BARITO_KAFKA_SASL_USERNAME: /,
    );
  });

  it("takes the brokers from Consul only when BARITO_KAFKA_BROKERS is empty and BARITO_CONSUL_URL is set", () => {
    const consul = load({ BARITO_CONSUL_URL: "consul:8500" });
    expect(consul.inertVariables).toEqual([]);
    expect(consul.discovery).toEqual({ consulUrl: "consul:8500", kafkaService: "kafka" });
    expect(consul.kafka.brokers).toEqual([]);
    const named = load({ BARITO_CONSUL_URL: "http://consul:8500", BARITO_CONSUL_KAFKA_NAME: "kafka-blue" });
    expect(named.discovery.kafkaService).toBe("kafka-blue");
    const given = load({ BARITO_CONSUL_URL: "http://consul:8500", BARITO_KAFKA_BROKERS: "k:9092" });
    expect(given.discovery.kafkaService).toBeUndefined();
    expect(given.kafka.brokers).toEqual(["k:9092"]);
    expect(load({ BARITO_KAFKA_BROKERS: " " }).kafka.brokers).toEqual(["localhost:9092"]);
    expect(() => load({ BARITO_CONSUL_URL: "ftp://consul" })).toThrow(
      /BARITO_CONSUL_URL: must be host:port or an http/,
    );
  });
});

describe("redactConfig()", () => {
  it("replaces the shared secrets and URL passwords, keeps paths and leaves the original alone", () => {
    const config = load({
      BARITO_KAFKA_TLS_ENABLED: "true",
      BARITO_KAFKA_TLS_CLIENT_CERT: "/etc/c.pem",
      BARITO_KAFKA_TLS_CLIENT_KEY: "/etc/k.pem",
      BARITO_KAFKA_SASL_MECHANISM: "plain",
      BARITO_KAFKA_SASL_USERNAME: "kuser",
      BARITO_KAFKA_SASL_PASSWORD: "kafkapass",
      BARITO_PUSH_METRIC_URL: "https://market:pushpass@market.example/api",
    });
    const redacted = redactConfig(config);
    expect(redacted.kafka.sasl).toEqual({ mechanism: "plain", username: "kuser", password: "[REDACTED]" });
    expect(redacted.kafka.tls?.clientKeyPath).toBe("/etc/k.pem");
    expect(redacted.metrics.pushUrl).toBe("https://market:[REDACTED]@market.example/api");
    expect(JSON.stringify(redacted)).not.toMatch(/kafkapass|pushpass/);
    expect(config.kafka.sasl?.password).toBe("kafkapass");
  });

  it("leaves unset secrets visible as unset", () => {
    expect(redactConfig({ password: undefined, token: "", nested: { apiKey: null } })).toEqual({
      password: undefined,
      token: "",
      nested: { apiKey: null },
    });
  });
});
