import { describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "./consumer-config.js";
import { loadProducerConfig } from "./producer-config.js";
import { formatConfigForLog, redactConfig } from "./redact-config.js";

describe("redactConfig() / formatConfigForLog()", () => {
  it("replaces every secret of the producer configuration", () => {
    const config = loadProducerConfig({
      BARITO_REDIS_URL: "redis://user:urlpass@redis:6379",
      BARITO_REDIS_PASSWORD: "redispass",
      BARITO_KAFKA_TLS_ENABLED: "true",
      BARITO_KAFKA_TLS_CLIENT_CERT: "/etc/c.pem",
      BARITO_KAFKA_TLS_CLIENT_KEY: "/etc/k.pem",
      BARITO_KAFKA_SASL_MECHANISM: "plain",
      BARITO_KAFKA_SASL_USERNAME: "kuser",
      BARITO_KAFKA_SASL_PASSWORD: "kafkapass",
    });
    const redacted = redactConfig(config);
    expect(redacted.rateLimit.redis).toEqual({
      url: "redis://user:[REDACTED]@redis:6379",
      password: "[REDACTED]",
      keyPrefix: "barito:producer:ratelimit:",
    });
    expect(redacted.kafka.sasl).toEqual({ mechanism: "plain", username: "kuser", password: "[REDACTED]" });
    expect(redacted.kafka.tls?.clientKeyPath).toBe("/etc/k.pem");
    const line = formatConfigForLog(config);
    for (const secret of ["urlpass", "redispass", "kafkapass"]) expect(line).not.toContain(secret);
    expect(line).toContain('"brokers":["localhost:9092"]');
    expect(config.rateLimit.redis.password).toBe("redispass");
  });

  it("replaces every secret of the consumer configuration", () => {
    const config = loadConsumerConfig({
      BARITO_ELASTICSEARCH_URLS: "https://admin:espass@os:9200",
      ELASTIC_USERNAME: "elastic",
      ELASTIC_PASSWORD: "elasticpass",
      MARKET_REDACT_CLIENT_KEY: "marketkey",
      BARITO_MARKET_REDACT_ENDPOINT_URL: "https://market/api",
    });
    const line = formatConfigForLog(config);
    for (const secret of ["espass", "elasticpass", "marketkey"]) expect(line).not.toContain(secret);
    const redacted = redactConfig(config);
    expect(redacted.opensearch.urls).toEqual(["https://admin:[REDACTED]@os:9200"]);
    expect(redacted.opensearch.auth).toEqual({ username: "elastic", password: "[REDACTED]" });
    expect(redacted.redaction.marketClientKey).toBe("[REDACTED]");
  });

  it("leaves unset secrets visible as unset", () => {
    expect(redactConfig({ password: undefined, token: "", nested: { apiKey: null } })).toEqual({
      password: undefined,
      token: "",
      nested: { apiKey: null },
    });
  });
});
