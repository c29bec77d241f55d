import { invalidConfig } from "./errors.js";
import type { KafkaConnectionOptions, KafkaTlsOptions, LibrdkafkaProperties } from "./types.js";

/**
 * The connection part of every client's configuration: `kafkaJS` carries what the KafkaJS-compatible layer must own
 * (brokers, client id), `properties` are plain librdkafka properties (security, SASL, TLS).
 */
export interface ConnectionConfig {
  kafkaJS: { brokers: string[]; clientId: string };
  /** See `KafkaConnectionOptions.resolveBrokers`; `nativeKafkaFactory`'s clients ask it and updates `kafkaJS.brokers`. */
  resolveBrokers?: () => Promise<readonly string[] | undefined>;
  properties: LibrdkafkaProperties;
  /** Secret values present in the configuration, to scrub from anything logged. */
  secrets: string[];
}

const brokerPattern = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const saslMechanisms = { plain: "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512" } as const;

/**
 * Validates the shared options and maps TLS/SASL to librdkafka properties (`security.protocol`, `sasl.mechanisms`,
 * `ssl.ca.location` / `ssl.ca.pem`, ...). Throws `KafkaError` INVALID_CONFIG naming the offending field; secrets never
 * appear in the message.
 */
export function buildConnectionConfig(options: KafkaConnectionOptions): ConnectionConfig {
  if (typeof options !== "object" || options === null) throw invalidConfig("options", "must be an object");
  const brokers = validateBrokers(options.brokers);
  if (typeof options.clientId !== "string" || options.clientId.trim() === "") {
    throw invalidConfig("clientId", "must be a non-empty string");
  }

  const properties: LibrdkafkaProperties = {};
  const secrets: string[] = [];
  const tlsEnabled = options.tls !== undefined && options.tls !== false;
  if (options.tls !== undefined && typeof options.tls !== "boolean") {
    Object.assign(properties, mapTls(options.tls, secrets));
  }

  if (options.sasl !== undefined) {
    const { sasl } = options;
    if (typeof sasl !== "object" || sasl === null) throw invalidConfig("sasl", "must be an object");
    const mechanism = saslMechanisms[sasl.mechanism];
    if (mechanism === undefined) {
      throw invalidConfig("sasl.mechanism", `must be one of ${Object.keys(saslMechanisms).join(", ")}`);
    }
    if (typeof sasl.username !== "string" || sasl.username === "") {
      throw invalidConfig("sasl.username", "must be a non-empty string");
    }
    if (typeof sasl.password !== "string" || sasl.password === "") {
      throw invalidConfig("sasl.password", "must be a non-empty string");
    }
    properties["sasl.mechanisms"] = mechanism;
    properties["sasl.username"] = sasl.username;
    properties["sasl.password"] = sasl.password;
    secrets.push(sasl.password);
  }

  const withSasl = options.sasl !== undefined;
  properties["security.protocol"] = tlsEnabled
    ? withSasl
      ? "sasl_ssl"
      : "ssl"
    : withSasl
      ? "sasl_plaintext"
      : "plaintext";

  if (options.librdkafka !== undefined) {
    if (typeof options.librdkafka !== "object" || options.librdkafka === null) {
      throw invalidConfig("librdkafka", "must be an object of librdkafka properties");
    }
    for (const [name, value] of Object.entries(options.librdkafka)) {
      if (!["string", "number", "boolean"].includes(typeof value)) {
        throw invalidConfig(`librdkafka.${name}`, "must be a string, number or boolean");
      }
    }
  }

  if (options.patchedBinding !== undefined && typeof options.patchedBinding !== "boolean") {
    throw invalidConfig("patchedBinding", "must be a boolean");
  }

  if (options.resolveBrokers !== undefined && typeof options.resolveBrokers !== "function") {
    throw invalidConfig("resolveBrokers", "must be a function");
  }
  return {
    kafkaJS: { brokers, clientId: options.clientId },
    ...(options.resolveBrokers ? { resolveBrokers: options.resolveBrokers } : {}),
    properties,
    secrets,
  };
}

export function validateBrokers(brokers: unknown): string[] {
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw invalidConfig("brokers", "must be a non-empty array of host:port strings");
  }
  return brokers.map((broker: unknown, index) => {
    const trimmed = typeof broker === "string" ? broker.trim() : "";
    const match = brokerPattern.exec(trimmed);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw invalidConfig(`brokers[${index}]`, `expected host:port, got ${JSON.stringify(broker)}`);
    }
    return trimmed;
  });
}

function isPem(value: string): boolean {
  return value.trimStart().startsWith("-----BEGIN");
}

function mapTls(tls: KafkaTlsOptions, secrets: string[]): LibrdkafkaProperties {
  if (typeof tls !== "object" || tls === null) throw invalidConfig("tls", "must be a boolean or an object");
  const properties: LibrdkafkaProperties = {};
  const material = [
    ["ca", "ssl.ca.pem", "ssl.ca.location"],
    ["cert", "ssl.certificate.pem", "ssl.certificate.location"],
    ["key", "ssl.key.pem", "ssl.key.location"],
  ] as const;
  for (const [field, pemProperty, locationProperty] of material) {
    const value = tls[field];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.trim() === "") {
      throw invalidConfig(`tls.${field}`, "must be PEM content or a file path");
    }
    if (isPem(value)) {
      properties[pemProperty] = value;
      if (field === "key") secrets.push(value);
    } else {
      properties[locationProperty] = value;
    }
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidConfig(tls.cert === undefined ? "tls.cert" : "tls.key", "tls.cert and tls.key must be set together");
  }
  if (tls.keyPassword !== undefined) {
    if (typeof tls.keyPassword !== "string") throw invalidConfig("tls.keyPassword", "must be a string");
    properties["ssl.key.password"] = tls.keyPassword;
    secrets.push(tls.keyPassword);
  }
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== "boolean") {
    throw invalidConfig("tls.rejectUnauthorized", "must be a boolean");
  }
  if (tls.rejectUnauthorized === false) {
    properties["enable.ssl.certificate.verification"] = false;
    properties["ssl.endpoint.identification.algorithm"] = "none";
  }
  return properties;
}

/** Checks an optional numeric option: integer within [min, max]. Returns the default when undefined. */
export function integerOption(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidConfig(field, `must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
