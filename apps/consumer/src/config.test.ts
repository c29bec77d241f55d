import { ConfigError, type KafkaConnectionConfig, redactConfig } from "@barito-flow/config";
import { describe, expect, it } from "@jest/globals";
import { loadConsumerConfig, sinkBufferShortfall } from "./config.js";

function issuesOf(env: Record<string, string>) {
  try {
    loadConsumerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConsumerConfig()", () => {
  it("has the barito defaults when nothing is set", () => {
    const config = loadConsumerConfig({});
    const connection: KafkaConnectionConfig = config.kafka; // what the Kafka adapters take, as it is
    expect(connection.clientId).toBe("barito-flow-consumer");
    expect(config.consumer).toEqual({
      groupId: "barito-group",
      uniqueGroupId: false,
      groupInstanceId: undefined,
      sessionTimeoutMs: 20_000,
      heartbeatIntervalMs: 6_000,
      topicRescanIntervalMs: 30_000,
      initialOffset: "earliest",
      dlqTopic: "barito_dlq",
      printTps: false,
      prefetchBytes: 16_777_216,
      memoryBudgetBytes: undefined,
    });
    expect(config.opensearch).toEqual({
      urls: ["http://localhost:9200"],
      indexMethod: "BulkProcessor",
      indexDate: "timestamp",
      bulkSize: 100,
      flushIntervalMs: 500,
      flushBytes: 5_242_880,
      maxInFlight: 2,
      maxBufferedDocs: 20_000,
      compression: "none",
      dataStreamComponentTemplate: "barito-default-replica",
      auth: undefined,
      tls: undefined,
    });
    expect(config.redaction).toEqual({
      rulesMap: undefined,
      rulesFile: undefined,
      marketEndpointUrl: undefined,
      marketClientKey: undefined,
      clusterName: undefined,
    });
  });

  it("reads every consumer variable", () => {
    const config = loadConsumerConfig({
      BARITO_ELASTICSEARCH_URLS: "https://os1:9200/, http://os2:9200",
      BARITO_KAFKA_GROUP_ID: "g",
      BARITO_KAFKA_UNIQUE_GROUP_ID: "1",
      BARITO_ELASTICSEARCH_INDEX_METHOD: "datastream",
      BARITO_ELASTICSEARCH_BULK_SIZE: "500",
      BARITO_ELASTICSEARCH_FLUSH_INTERVAL_MS: "250",
      BARITO_ELASTICSEARCH_FLUSH_BYTES: "1MiB",
      BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: "4",
      BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS: "1000",
      BARITO_ELASTICSEARCH_COMPRESSION: "none",
      BARITO_ELASTICSEARCH_DATASTREAM_DEFAULT_COMPONENT_TEMPLATE_NAME: "tpl",
      BARITO_CONSUMER_ELASTICSEARCH_RETRIER_INTERVAL: "5s",
      BARITO_CONSUMER_ELASTICSEARCH_RETRIER_MAX_RETRY: "0",
      ELASTIC_USERNAME: "elastic",
      ELASTIC_PASSWORD: "changeme",
      BARITO_CONSUMER_ELASTICSEARCH_CA_CERT: "/ca.pem",
      BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT: "/c.pem",
      BARITO_CONSUMER_ELASTICSEARCH_CLIENT_KEY: "/k.pem",
      BARITO_CONSUMER_REBALANCING_STRATEGY: "range",
      BARITO_CONSUMER_GROUP_SESSION_TIMEOUT: "45",
      BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "3s",
      BARITO_CONSUMER_MAX_PROCESSING_TIME: "1s",
      BARITO_CONSUMER_CHANNEL_BUFFER_SIZE: "64",
      BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "1m",
      BARITO_CONSUMER_INITIAL_OFFSET: "LATEST",
      BARITO_CONSUMER_INDEX_DATE: "processing",
      BARITO_CONSUMER_DLQ_TOPIC: "dlq",
      BARITO_PRINT_TPS: "true",
      BARITO_CONSUMER_PREFETCH_BYTES: "8MiB",
      BARITO_CONSUMER_MEMORY_BUDGET: "512MiB",
      REDACTOR_RULES_MAP: '{"default":[]}',
      BARITO_REDACTOR_RULES_FILE: "/rules.json",
      BARITO_MARKET_REDACT_ENDPOINT_URL: "http://market/api/redact",
      BARITO_CLUSTER_NAME: "cluster-a",
      MARKET_REDACT_CLIENT_KEY: "ck",
    });
    expect(config.opensearch).toEqual({
      urls: ["https://os1:9200", "http://os2:9200"],
      indexMethod: "DataStream",
      indexDate: "processing",
      bulkSize: 500,
      flushIntervalMs: 250,
      flushBytes: 1_048_576,
      maxInFlight: 4,
      maxBufferedDocs: 1000,
      compression: "none",
      dataStreamComponentTemplate: "tpl",
      auth: { username: "elastic", password: "changeme" },
      tls: { caCertPath: "/ca.pem", clientCertPath: "/c.pem", clientKeyPath: "/k.pem" },
    });
    expect(config.consumer).toEqual({
      groupId: "g",
      uniqueGroupId: true,
      groupInstanceId: undefined,
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3_000,
      topicRescanIntervalMs: 60_000,
      initialOffset: "latest",
      dlqTopic: "dlq",
      printTps: true,
      prefetchBytes: 8_388_608,
      memoryBudgetBytes: 536_870_912,
    });
    expect(config.redaction).toEqual({
      rulesMap: '{"default":[]}',
      rulesFile: "/rules.json",
      marketEndpointUrl: "http://market/api/redact",
      marketClientKey: "ck",
      clusterName: "cluster-a",
    });
  });

  it("compresses bulk bodies unless every OpenSearch URL is loopback (auto), or as told", () => {
    const compression = (env: Record<string, string>) => loadConsumerConfig(env).opensearch.compression;
    expect(compression({ BARITO_ELASTICSEARCH_URLS: "http://127.0.0.1:9200,http://[::1]:9201" })).toBe("none");
    expect(compression({ BARITO_ELASTICSEARCH_URLS: "http://127.0.0.1:9200,https://os.internal:9200" })).toBe("gzip");
    expect(
      compression({ BARITO_ELASTICSEARCH_URLS: "http://LOCALHOST:9200", BARITO_ELASTICSEARCH_COMPRESSION: "gzip" }),
    ).toBe("gzip");
    expect(
      compression({ BARITO_ELASTICSEARCH_URLS: "https://os:9200", BARITO_ELASTICSEARCH_COMPRESSION: "none" }),
    ).toBe("none");
    expect(() => loadConsumerConfig({ BARITO_ELASTICSEARCH_COMPRESSION: "zstd" })).toThrow(ConfigError);
  });

  it("says when the sink's buffer cannot keep every bulk slot filled from one partition", () => {
    const shortfall = (env: Record<string, string>) => sinkBufferShortfall(loadConsumerConfig(env).opensearch);
    expect(shortfall({})).toBeUndefined();
    const sized = { BARITO_ELASTICSEARCH_BULK_SIZE: "2000", BARITO_ELASTICSEARCH_MAX_IN_FLIGHT: "4" };
    expect(shortfall({ ...sized, BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS: "16000" })).toBeUndefined();
    expect(shortfall({ ...sized, BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS: "15999" })).toMatch(
      /MAX_BUFFERED_DOCS \(15999\).*at least 16000/,
    );
    // One document per request: there is no bulk to fill.
    expect(
      shortfall({
        ...sized,
        BARITO_ELASTICSEARCH_INDEX_METHOD: "SingleInsert",
        BARITO_ELASTICSEARCH_MAX_BUFFERED_DOCS: "10",
      }),
    ).toBeUndefined();
  });

  it("rejects unknown index methods (Go panicked on first store)", () => {
    expect(issuesOf({ BARITO_ELASTICSEARCH_INDEX_METHOD: "Bulk" })).toEqual([
      {
        variable: "BARITO_ELASTICSEARCH_INDEX_METHOD",
        message: 'must be one of BulkProcessor, DataStream, SingleInsert (got "Bulk")',
      },
    ]);
  });

  it("checks URLs, credential and certificate pairs and heartbeat < session timeout", () => {
    expect(
      issuesOf({
        BARITO_ELASTICSEARCH_URLS: "http://ok:9200,localhost:9200",
        ELASTIC_PASSWORD: "p",
        BARITO_CONSUMER_ELASTICSEARCH_CLIENT_KEY: "/k.pem",
        BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL: "30",
      }),
    ).toEqual([
      { variable: "BARITO_ELASTICSEARCH_URLS", message: "entry 2: must use http: or https: (got localhost:)" },
      { variable: "BARITO_CONSUMER_ELASTICSEARCH_CLIENT_CERT", message: expect.stringContaining("is required when") },
      { variable: "ELASTIC_USERNAME", message: "is required when ELASTIC_PASSWORD is set" },
      {
        variable: "BARITO_CONSUMER_GROUP_HEARTBEAT_INTERVAL",
        message: "must be lower than BARITO_CONSUMER_GROUP_SESSION_TIMEOUT",
      },
    ]);
  });

  it("hides the OpenSearch credentials and the market key from the startup line (redactConfig)", () => {
    const redacted = redactConfig(
      loadConsumerConfig({
        BARITO_ELASTICSEARCH_URLS: "https://admin:espass@os:9200",
        ELASTIC_USERNAME: "elastic",
        ELASTIC_PASSWORD: "elasticpass",
        MARKET_REDACT_CLIENT_KEY: "marketkey",
      }),
    );
    expect(JSON.stringify(redacted)).not.toMatch(/espass|elasticpass|marketkey/);
    expect(redacted.opensearch.urls).toEqual(["https://admin:[REDACTED]@os:9200"]);
    // `auth` is a secret name of its own (the logger's rules): the whole object goes, the user name with it.
    expect(redacted.opensearch.auth).toBe("[REDACTED]");
    expect(redacted.redaction.marketClientKey).toBe("[REDACTED]");
  });

  it("allows CA-only TLS (Go required a client certificate)", () => {
    expect(loadConsumerConfig({ BARITO_CONSUMER_ELASTICSEARCH_CA_CERT: "/ca.pem" }).opensearch.tls).toEqual({
      caCertPath: "/ca.pem",
      clientCertPath: undefined,
      clientKeyPath: undefined,
    });
  });

  it("takes the OpenSearch URLs from Consul only when BARITO_ELASTICSEARCH_URLS is empty", () => {
    const consul = loadConsumerConfig({ BARITO_CONSUL_URL: "consul:8500", BARITO_CONSUL_ELASTICSEARCH_NAME: "es" });
    expect(consul.opensearch).toMatchObject({ urls: [], consulService: "es", compression: "gzip" });
    expect(consul.discovery.kafkaService).toBe("kafka");
    const given = loadConsumerConfig({ BARITO_CONSUL_URL: "consul:8500", BARITO_ELASTICSEARCH_URLS: "http://o:9200" });
    expect(given.opensearch).toMatchObject({ urls: ["http://o:9200"], consulService: undefined });
    expect(loadConsumerConfig({}).opensearch).toMatchObject({
      urls: ["http://localhost:9200"],
      consulService: undefined,
    });
  });

  it("lists set inert variables, and still validates them", () => {
    expect(
      loadConsumerConfig({
        BARITO_CONSUL_ELASTICSEARCH_NAME: "es",
        BARITO_CONSUL_KAFKA_NAME: "k",
        BARITO_CONSUMER_CHANNEL_BUFFER_SIZE: "64",
      }).inertVariables,
    ).toEqual(["BARITO_CONSUMER_CHANNEL_BUFFER_SIZE"]);
    expect(loadConsumerConfig({}).inertVariables).toEqual([]);
    expect(() => loadConsumerConfig({ BARITO_CONSUMER_REBALANCING_STRATEGY: "Sticky" })).toThrow(
      /BARITO_CONSUMER_REBALANCING_STRATEGY/,
    );
  });
});
