import { availableParallelism } from "node:os";
import { ConfigError, type KafkaConnectionConfig, redactConfig } from "@barito-flow/config";
import { describe, expect, it } from "@jest/globals";
import { loadProducerConfig } from "./config.js";

function issuesOf(env: Record<string, string>) {
  try {
    loadProducerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadProducerConfig()", () => {
  it("has the barito defaults when nothing is set", () => {
    const config = loadProducerConfig({});
    const connection: KafkaConnectionConfig = config.kafka; // what the Kafka adapters take, as it is
    expect(connection.brokers).toEqual(["localhost:9092"]);
    expect(config.kafka).toEqual({
      brokers: ["localhost:9092"],
      clientId: "barito-flow-producer",
      tls: undefined,
      sasl: undefined,
      topicPrefix: "",
      topicSuffix: "_logs",
      newTopicEventTopic: "new_topic_events",
      connectMaxRetry: 0,
      connectRetryIntervalMs: 10_000,
    });
    expect(config.producer).toEqual({
      grpcAddress: { host: "0.0.0.0", port: 8082 },
      restEnabled: true,
      restAddress: { host: "0.0.0.0", port: 8080 },
      grpcMaxRecvMsgSize: 20_000_000,
      kafkaMaxRetry: 10,
      maxMessageBytes: 1_000_000,
      maxBatchItems: 10_000,
      maxInflightBytes: 40 * 1_048_576,
      maxInflightRecords: 100_000,
      kafkaQueue: { maxKbytes: 40 * 1024 + 1024, maxMessages: 101_000 },
      requestTimeoutMs: 30_000,
      messageFormat: "Timber",
      ignoreKafkaTopicOptions: false,
      maxTopicPartitions: 1_000,
      workers: 1,
      auth: { mode: "none" },
    });
    expect(config.rateLimit).toEqual({
      backend: "local",
      intervalMs: 10_000,
      redis: { url: "redis://localhost:6379", password: undefined, keyPrefix: "barito:producer:ratelimit:" },
    });
    expect(config.metrics).toEqual({
      address: { host: "0.0.0.0", port: 8008 },
      token: undefined,
      pushUrl: undefined,
      pushIntervalMs: 30_000,
    });
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(config.inertVariables).toEqual([]);
  });

  it("reads every producer variable", () => {
    const config = loadProducerConfig({
      BARITO_KAFKA_BROKERS: "k1:9092, k2:9093",
      BARITO_KAFKA_CLIENT_ID: "p-1",
      BARITO_KAFKA_TOPIC_PREFIX: "shared_",
      BARITO_KAFKA_TOPIC_SUFFIX: "_l",
      BARITO_KAFKA_MAX_RETRY: "3",
      BARITO_KAFKA_RETRY_INTERVAL: "2",
      BARITO_NEW_TOPIC_EVENT: "ev",
      BARITO_PUSH_METRIC_URL: "http://market/api/increase_log_count",
      BARITO_PUSH_METRIC_INTERVAL: "1m",
      EXPORTER_PORT: "127.0.0.1:9100",
      BARITO_EXPORTER_TOKEN: "operator-token-0123456789",
      BARITO_PRODUCER_GRPC: "9082",
      BARITO_PRODUCER_REST: ":9080",
      BARITO_PRODUCER_REST_API: "false",
      BARITO_GRPC_MAX_RECV_MSG_SIZE: "1000",
      BARITO_PRODUCER_MAX_RETRY: "0",
      BARITO_PRODUCER_MAX_MESSAGE_BYTES: "2000",
      BARITO_PRODUCER_MAX_BATCH_ITEMS: "50",
      BARITO_PRODUCER_MAX_INFLIGHT_BYTES: "1MiB",
      BARITO_PRODUCER_MAX_INFLIGHT_RECORDS: "500",
      BARITO_PRODUCER_WORKERS: "3",
      BARITO_PRODUCER_REQUEST_TIMEOUT: "5s",
      BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: "1",
      BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS: "true",
      BARITO_PRODUCER_MAX_TOPIC_PARTITIONS: "64",
      BARITO_KAFKA_MESSAGE_FORMAT: "timbercollection",
      BARITO_RATE_LIMITER_OPT: " redis ",
      BARITO_REDIS_URL: "redis-host:6380",
      BARITO_REDIS_PASSWORD: "pw",
      BARITO_REDIS_KEY_PREFIX: "rl:",
      BARITO_SHUTDOWN_TIMEOUT: "10s",
      LOG_LEVEL: "DEBUG",
      LOG_FORMAT: "json",
    });
    expect(config.kafka).toMatchObject({
      brokers: ["k1:9092", "k2:9093"],
      clientId: "p-1",
      topicPrefix: "shared_",
      topicSuffix: "_l",
      connectMaxRetry: 3,
      connectRetryIntervalMs: 2_000,
      newTopicEventTopic: "ev",
    });
    expect(config.metrics).toEqual({
      address: { host: "127.0.0.1", port: 9100 },
      token: "operator-token-0123456789",
      pushUrl: "http://market/api/increase_log_count",
      pushIntervalMs: 60_000,
    });
    expect(config.producer).toEqual({
      grpcAddress: { host: "0.0.0.0", port: 9082 },
      restEnabled: false,
      restAddress: { host: "0.0.0.0", port: 9080 },
      grpcMaxRecvMsgSize: 1000,
      kafkaMaxRetry: 0,
      maxMessageBytes: 2000,
      maxBatchItems: 50,
      maxInflightBytes: 1_048_576,
      maxInflightRecords: 500,
      kafkaQueue: { maxKbytes: 1024 + 1024, maxMessages: 1_500 },
      requestTimeoutMs: 5_000,
      messageFormat: "TimberCollection",
      ignoreKafkaTopicOptions: true,
      maxTopicPartitions: 64,
      workers: 3,
      auth: { mode: "none" },
    });
    expect(config.rateLimit).toEqual({
      backend: "redis",
      intervalMs: 1_000,
      redis: { url: "redis://redis-host:6380", password: "pw", keyPrefix: "rl:" },
    });
    expect(config.log).toEqual({ level: "debug", format: "json" });
    expect(config.shutdownTimeoutMs).toBe(10_000);
  });

  it("picks the log format from NODE_ENV unless LOG_FORMAT is set", () => {
    expect(loadProducerConfig({ NODE_ENV: "production" }).log.format).toBe("json");
    expect(loadProducerConfig({ NODE_ENV: "development" }).log.format).toBe("pretty");
    expect(loadProducerConfig({}).log.format).toBe("pretty");
    expect(loadProducerConfig({ NODE_ENV: "production", LOG_FORMAT: "Pretty" }).log.format).toBe("pretty");
  });

  it("takes a worker count or auto (one per CPU), and refuses anything else", () => {
    expect(loadProducerConfig({ BARITO_PRODUCER_WORKERS: "auto" }).producer.workers).toBe(
      Math.min(64, availableParallelism()),
    );
    expect(loadProducerConfig({ BARITO_PRODUCER_WORKERS: " 2 " }).producer.workers).toBe(2);
    expect(issuesOf({ BARITO_PRODUCER_WORKERS: "0" })).toEqual([
      { variable: "BARITO_PRODUCER_WORKERS", message: "must be at least 1 (got 0)" },
    ]);
    expect(issuesOf({ BARITO_PRODUCER_WORKERS: "65" })).toEqual([
      { variable: "BARITO_PRODUCER_WORKERS", message: "must be at most 64 (got 65)" },
    ]);
    expect(issuesOf({ BARITO_PRODUCER_WORKERS: "two" })).toEqual([
      { variable: "BARITO_PRODUCER_WORKERS", message: 'must be a whole number or auto (got "two")' },
    ]);
  });

  it("refuses an in-flight cap that could never take the largest request or batch", () => {
    expect(
      issuesOf({
        BARITO_GRPC_MAX_RECV_MSG_SIZE: "20000000",
        BARITO_PRODUCER_MAX_INFLIGHT_BYTES: "16MiB",
        BARITO_PRODUCER_MAX_BATCH_ITEMS: "5000",
        BARITO_PRODUCER_MAX_INFLIGHT_RECORDS: "4999",
      }),
    ).toEqual([
      {
        variable: "BARITO_PRODUCER_MAX_INFLIGHT_BYTES",
        message: expect.stringContaining("at least BARITO_GRPC_MAX_RECV_MSG_SIZE (20000000)"),
      },
      {
        variable: "BARITO_PRODUCER_MAX_INFLIGHT_RECORDS",
        message: expect.stringContaining("at least BARITO_PRODUCER_MAX_BATCH_ITEMS (5000)"),
      },
    ]);
    expect(loadProducerConfig({ BARITO_PRODUCER_MAX_INFLIGHT_BYTES: "20000000" }).producer.maxInflightBytes).toBe(
      20_000_000,
    );
  });

  it("refuses GUBERNATOR with a clear message", () => {
    expect(issuesOf({ BARITO_RATE_LIMITER_OPT: "Gubernator" })).toEqual([
      {
        variable: "BARITO_RATE_LIMITER_OPT",
        message: "GUBERNATOR is not supported, use REDIS (shared limits across producer replicas)",
      },
    ]);
  });

  it("rejects unknown message formats instead of falling back to Timber like Go", () => {
    expect(issuesOf({ BARITO_KAFKA_MESSAGE_FORMAT: "json" })[0]).toEqual({
      variable: "BARITO_KAFKA_MESSAGE_FORMAT",
      message: 'must be one of Timber, TimberCollection (got "json")',
    });
  });

  it("rejects the Go default Redis URL (http://) and a zero window", () => {
    const issues = issuesOf({
      BARITO_REDIS_URL: "http://localhost:6379",
      BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: "0",
    });
    expect(issues.map((issue) => issue.variable)).toEqual([
      "BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL",
      "BARITO_REDIS_URL",
    ]);
  });

  it("reports field and cross-field problems together", () => {
    const issues = issuesOf({
      BARITO_KAFKA_BROKERS: "no-port",
      BARITO_GRPC_MAX_RECV_MSG_SIZE: "big",
      BARITO_KAFKA_SASL_USERNAME: "user",
      BARITO_KAFKA_TLS_CA_CERT: "/ca.pem",
    });
    expect(issues).toEqual([
      { variable: "BARITO_KAFKA_BROKERS", message: 'entry 1: must be host:port (got "no-port")' },
      { variable: "BARITO_GRPC_MAX_RECV_MSG_SIZE", message: 'must be a whole number (got "big")' },
      { variable: "BARITO_KAFKA_TLS_CA_CERT", message: "is set but BARITO_KAFKA_TLS_ENABLED is not true" },
      { variable: "BARITO_KAFKA_SASL_USERNAME", message: "is set but BARITO_KAFKA_SASL_MECHANISM is not" },
    ]);
  });

  it("builds the Kafka TLS and SASL settings and checks their combinations", () => {
    const config = loadProducerConfig({
      BARITO_KAFKA_TLS_ENABLED: "yes",
      BARITO_KAFKA_TLS_CA_CERT: "/ca.pem",
      BARITO_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      BARITO_KAFKA_SASL_USERNAME: "u",
      BARITO_KAFKA_SASL_PASSWORD: " p w ",
    });
    expect(config.kafka.tls).toEqual({ caCertPath: "/ca.pem", clientCertPath: undefined, clientKeyPath: undefined });
    expect(config.kafka.sasl).toEqual({ mechanism: "scram-sha-512", username: "u", password: " p w " });

    expect(
      issuesOf({
        BARITO_KAFKA_TLS_ENABLED: "true",
        BARITO_KAFKA_TLS_CLIENT_CERT: "/c.pem",
        BARITO_KAFKA_SASL_MECHANISM: "plain",
      }),
    ).toEqual([
      { variable: "BARITO_KAFKA_TLS_CLIENT_KEY", message: "is required when BARITO_KAFKA_TLS_CLIENT_CERT is set" },
      { variable: "BARITO_KAFKA_SASL_USERNAME", message: "is required when BARITO_KAFKA_SASL_MECHANISM is set" },
      { variable: "BARITO_KAFKA_SASL_PASSWORD", message: "is required when BARITO_KAFKA_SASL_MECHANISM is set" },
    ]);
  });

  it("accepts the inert Go variable and lists it when set", () => {
    const config = loadProducerConfig({ BARITO_CONSUL_URL: "http://consul:8500", BARITO_PRODUCER_MAX_TPS: "100" });
    expect(config.inertVariables).toEqual(["BARITO_PRODUCER_MAX_TPS"]);
  });

  it("takes the Redis URL from Consul only for the REDIS backend with BARITO_REDIS_URL empty", () => {
    const consul = { BARITO_CONSUL_URL: "http://consul:8500", BARITO_RATE_LIMITER_OPT: "REDIS" };
    expect(loadProducerConfig(consul).rateLimit.redis).toMatchObject({ url: "", consulService: "redis" });
    expect(loadProducerConfig({ ...consul, BARITO_CONSUL_REDIS_NAME: "limits" }).rateLimit.redis.consulService).toBe(
      "limits",
    );
    expect(loadProducerConfig({ ...consul, BARITO_REDIS_URL: "r:6379" }).rateLimit.redis).toMatchObject({
      url: "redis://r:6379",
      consulService: undefined,
    });
    expect(loadProducerConfig({ BARITO_CONSUL_URL: "http://consul:8500" }).rateLimit.redis).toMatchObject({
      url: "redis://localhost:6379",
      consulService: undefined,
    });
  });

  it("hides the Redis password, also inside its URL, from the startup line (redactConfig)", () => {
    const config = loadProducerConfig({ BARITO_REDIS_URL: "redis://u:urlpass@r:6379", BARITO_REDIS_PASSWORD: "rpass" });
    expect(redactConfig(config).rateLimit.redis).toEqual({
      url: "redis://u:[REDACTED]@r:6379",
      password: "[REDACTED]",
      keyPrefix: "barito:producer:ratelimit:",
    });
    expect(config.rateLimit.redis.password).toBe("rpass");
  });

  it("never puts a secret value into an error", () => {
    let message = "";
    try {
      loadProducerConfig({ BARITO_REDIS_URL: "http://:supersecret@r:6379", BARITO_KAFKA_SASL_PASSWORD: "hunter2" });
    } catch (error) {
      message = JSON.stringify(error) + String(error);
    }
    expect(message).toContain("BARITO_REDIS_URL");
    expect(message).not.toContain("supersecret");
    expect(message).not.toContain("hunter2");
  });
});

describe("Kafka names", () => {
  it("rejects characters Kafka does not allow in topic names", () => {
    expect(
      issuesOf({ BARITO_KAFKA_TOPIC_SUFFIX: "/logs", BARITO_NEW_TOPIC_EVENT: "new topics" }).map((i) => i.variable),
    ).toEqual(["BARITO_KAFKA_TOPIC_SUFFIX", "BARITO_NEW_TOPIC_EVENT"]);
    expect(loadProducerConfig({ BARITO_KAFKA_TOPIC_PREFIX: "cluster-a." }).kafka.topicPrefix).toBe("cluster-a.");
  });
});

describe("app authentication and the operator token", () => {
  const secrets = JSON.stringify({ "s3cr3t-value-1": ["shop", "shop-audit"] });

  it("reads each source of app secrets, with the lockout settings", () => {
    const inline = loadProducerConfig({ BARITO_PRODUCER_AUTH: "app-secret", BARITO_PRODUCER_AUTH_SECRETS: secrets });
    expect(inline.producer.auth).toEqual({
      mode: "app-secret",
      source: { kind: "inline", secrets },
      lockout: { maxFailures: 30, windowMs: 60_000, lockoutMs: 60_000 },
    });
    const file = loadProducerConfig({
      BARITO_PRODUCER_AUTH: "APP-SECRET",
      BARITO_PRODUCER_AUTH_SECRETS_FILE: "/etc/barito-flow/auth/secrets.json",
      BARITO_PRODUCER_AUTH_SECRETS_RELOAD_INTERVAL: "2s",
      BARITO_PRODUCER_AUTH_MAX_FAILURES: "0",
    });
    expect(file.producer.auth).toMatchObject({
      source: { kind: "file", path: "/etc/barito-flow/auth/secrets.json", reloadIntervalMs: 2_000 },
      lockout: { maxFailures: 0 },
    });
    const market = loadProducerConfig({
      BARITO_PRODUCER_AUTH: "app-secret",
      BARITO_PRODUCER_AUTH_MARKET_URL: "https://market.example/api/v2/profile",
      BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN: "market-token",
      BARITO_PRODUCER_AUTH_LOCKOUT: "5m",
    });
    expect(market.producer.auth).toMatchObject({
      source: {
        kind: "market",
        url: "https://market.example/api/v2/profile",
        accessToken: "market-token",
        cacheTtlMs: 60_000,
        timeoutMs: 3_000,
      },
      lockout: { lockoutMs: 300_000 },
    });
  });

  it("wants exactly one source with app-secret, and none without it", () => {
    expect(issuesOf({ BARITO_PRODUCER_AUTH: "app-secret" })).toEqual([
      expect.objectContaining({ variable: "BARITO_PRODUCER_AUTH", message: expect.stringContaining("one source") }),
    ]);
    expect(
      issuesOf({
        BARITO_PRODUCER_AUTH: "app-secret",
        BARITO_PRODUCER_AUTH_SECRETS: secrets,
        BARITO_PRODUCER_AUTH_SECRETS_FILE: "/x.json",
      }).map((i) => i.variable),
    ).toEqual(["BARITO_PRODUCER_AUTH_SECRETS_FILE"]);
    expect(issuesOf({ BARITO_PRODUCER_AUTH_SECRETS: secrets }).map((i) => i.message)).toEqual([
      "is set but BARITO_PRODUCER_AUTH is not app-secret",
    ]);
    expect(issuesOf({ BARITO_PRODUCER_AUTH: "token" }).map((i) => i.variable)).toEqual(["BARITO_PRODUCER_AUTH"]);
    expect(
      issuesOf({
        BARITO_PRODUCER_AUTH: "app-secret",
        BARITO_PRODUCER_AUTH_MARKET_URL: "https://m/api/v2/profile?access_token=abc",
      }).map((i) => i.variable),
    ).toEqual(["BARITO_PRODUCER_AUTH_MARKET_URL"]);
    const withUser = issuesOf({
      BARITO_PRODUCER_AUTH: "app-secret",
      BARITO_PRODUCER_AUTH_MARKET_URL: "https://user:pw-in-url@m/api/v2/profile",
    });
    expect(withUser.map((i) => i.message)).toEqual(["must not carry a user or password"]);
    expect(
      issuesOf({
        BARITO_PRODUCER_AUTH: "app-secret",
        BARITO_PRODUCER_AUTH_SECRETS: secrets,
        BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN: "t",
      }).map((i) => i.variable),
    ).toEqual(["BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN"]);
  });

  it("refuses broken inline secrets without quoting them", () => {
    for (const broken of [
      '{"topsecret-1": ["shop"',
      '["topsecret-1"]',
      '{"topsecret-1": []}',
      '{"topsecret-1": [1]}',
    ]) {
      const issues = issuesOf({ BARITO_PRODUCER_AUTH: "app-secret", BARITO_PRODUCER_AUTH_SECRETS: broken });
      expect(issues.map((i) => i.variable)).toEqual(["BARITO_PRODUCER_AUTH_SECRETS"]);
      expect(JSON.stringify(issues)).not.toContain("topsecret");
    }
  });

  it("takes an operator token of 16 visible characters or more, and never echoes a refused one", () => {
    expect(issuesOf({ BARITO_EXPORTER_TOKEN: "short-tok" })[0]?.message).toContain("at least 16");
    const spaced = "has a space in it 0123456789";
    const issues = issuesOf({ BARITO_EXPORTER_TOKEN: spaced });
    expect(issues.map((i) => i.variable)).toEqual(["BARITO_EXPORTER_TOKEN"]);
    expect(JSON.stringify(issues)).not.toContain("space in it");
  });

  it("hides the secrets, the market token and the operator token from the startup line", () => {
    const inline = loadProducerConfig({
      BARITO_PRODUCER_AUTH: "app-secret",
      BARITO_PRODUCER_AUTH_SECRETS: secrets,
      BARITO_EXPORTER_TOKEN: "operator-token-0123456789",
    });
    const market = loadProducerConfig({
      BARITO_PRODUCER_AUTH: "app-secret",
      BARITO_PRODUCER_AUTH_MARKET_URL: "https://m/api/v2/profile",
      BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN: "market-token-xyz",
    });
    const printed = JSON.stringify([redactConfig(inline), redactConfig(market)]);
    for (const secret of ["s3cr3t-value-1", "operator-token-0123456789", "market-token-xyz"]) {
      expect(printed).not.toContain(secret);
    }
  });
});
