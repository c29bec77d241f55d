import type { z } from "zod";
import {
  booleanVar,
  checkHostPort,
  checkKafkaName,
  checkUrl,
  csvVar,
  durationVar,
  enumVar,
  integerVar,
  listenAddressVar,
  stringVar,
  urlVar,
} from "./env-vars.js";
import type { ListenAddress } from "./listen-address.js";

export type KafkaSaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** Paths to PEM files; read by the Kafka/OpenSearch adapters, not here. */
export interface TlsFiles {
  caCertPath: string | undefined;
  clientCertPath: string | undefined;
  clientKeyPath: string | undefined;
}

/** Everything needed to open a Kafka connection; shared by producer and consumer. */
export interface KafkaConnectionConfig {
  brokers: readonly string[];
  clientId: string;
  /** undefined = plaintext. */
  tls: TlsFiles | undefined;
  /** undefined = no SASL. */
  sasl: { mechanism: KafkaSaslMechanism; username: string; password: string } | undefined;
}

export interface LogConfig {
  level: "debug" | "info" | "warn" | "error" | "silent";
  format: "json" | "pretty";
}

/**
 * Variables read for compatibility with Go barito-flow but without effect here. They are accepted (deployments keep
 * working) and reported in `config.inertVariables` so the app can warn that they are ignored.
 */
export const inertSharedVariables = [] as const;

/** Consul's HTTP address as barito-flow took it: `host:port` (http) or an http(s) URL. */
export function checkConsulUrl(value: string): string | undefined {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  const checked = checkUrl(url, ["http:", "https:"]);
  return typeof checked === "string" ? undefined : `must be host:port or an http(s) URL; ${checked.error}`;
}

/** Whether a service comes from Consul: its own variable is empty and BARITO_CONSUL_URL is set (reference §10). */
export function fromConsul(value: unknown, consulUrl: string | undefined): boolean {
  return value === undefined && consulUrl !== undefined;
}

export const sharedEnvShape = {
  // No default here: empty means Consul when BARITO_CONSUL_URL is set, localhost:9092 otherwise (toKafkaConnection).
  BARITO_KAFKA_BROKERS: csvVar({ item: checkHostPort }),
  BARITO_KAFKA_CLIENT_ID: stringVar(),
  BARITO_KAFKA_TLS_ENABLED: booleanVar({ default: false }),
  BARITO_KAFKA_TLS_CA_CERT: stringVar(),
  BARITO_KAFKA_TLS_CLIENT_CERT: stringVar(),
  BARITO_KAFKA_TLS_CLIENT_KEY: stringVar(),
  BARITO_KAFKA_SASL_MECHANISM: enumVar(["plain", "scram-sha-256", "scram-sha-512"]),
  BARITO_KAFKA_SASL_USERNAME: stringVar(),
  BARITO_KAFKA_SASL_PASSWORD: stringVar({ trim: false }),
  BARITO_KAFKA_TOPIC_PREFIX: stringVar({ default: "", check: checkKafkaName }),
  BARITO_KAFKA_TOPIC_SUFFIX: stringVar({ default: "_logs", check: checkKafkaName }),
  BARITO_KAFKA_MAX_RETRY: integerVar({ default: 0, min: 0 }),
  BARITO_KAFKA_RETRY_INTERVAL: durationVar({ default: 10, unit: "s" }),
  BARITO_NEW_TOPIC_EVENT: stringVar({ default: "new_topic_events", check: checkKafkaName }),
  BARITO_PUSH_METRIC_URL: urlVar(),
  BARITO_PUSH_METRIC_INTERVAL: durationVar({ default: "30s", unit: "s", minMs: 1 }),
  EXPORTER_PORT: listenAddressVar({ default: ":8008" }),
  BARITO_EXPORTER_TOKEN: stringVar({ trim: false, check: checkOperatorToken }),
  BARITO_SHUTDOWN_TIMEOUT: durationVar({ default: "30s", unit: "s" }),
  LOG_LEVEL: enumVar(["debug", "info", "warn", "error", "silent"], { default: "info" }),
  LOG_FORMAT: enumVar(["json", "pretty"]),
  NODE_ENV: stringVar(),
  BARITO_CONSUL_URL: stringVar({ check: checkConsulUrl }),
  BARITO_CONSUL_KAFKA_NAME: stringVar({ default: "kafka" }),
};

/**
 * The bearer token of the operator ports: sent in an HTTP header, so visible ASCII only; long enough that guessing
 * it over the network is hopeless. The value itself never appears in the message.
 */
function checkOperatorToken(value: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(value)) return "must be visible ASCII characters without spaces (it travels in a header)";
  if (value.length < 16) return `must be at least 16 characters (got ${value.length}); e.g. \`openssl rand -hex 32\``;
  return undefined;
}

type SharedEnv = z.output<z.ZodObject<typeof sharedEnvShape>>;
type Ctx = z.RefinementCtx;

/** superRefine option: report cross-variable problems together with single-variable ones, in one ConfigError. */
export const allIssues = { when: () => true };

/**
 * Cross-variable rules of the shared group: combinations that would otherwise be silently ignored. Runs even when
 * single variables failed (see `allIssues`), so it only trusts values of the expected type.
 */
export function checkSharedEnv(env: SharedEnv, ctx: Ctx): void {
  const tlsFiles = ["BARITO_KAFKA_TLS_CA_CERT", "BARITO_KAFKA_TLS_CLIENT_CERT", "BARITO_KAFKA_TLS_CLIENT_KEY"] as const;
  if (env.BARITO_KAFKA_TLS_ENABLED === false) {
    for (const name of tlsFiles) {
      if (env[name] !== undefined) {
        ctx.addIssue({ code: "custom", path: [name], message: "is set but BARITO_KAFKA_TLS_ENABLED is not true" });
      }
    }
  }
  checkPair(ctx, env, "BARITO_KAFKA_TLS_CLIENT_CERT", "BARITO_KAFKA_TLS_CLIENT_KEY");
  const sasl = ["BARITO_KAFKA_SASL_USERNAME", "BARITO_KAFKA_SASL_PASSWORD"] as const;
  if (env.BARITO_KAFKA_SASL_MECHANISM !== undefined) {
    for (const name of sasl) {
      if (env[name] === undefined) {
        ctx.addIssue({ code: "custom", path: [name], message: "is required when BARITO_KAFKA_SASL_MECHANISM is set" });
      }
    }
  } else {
    for (const name of sasl) {
      if (env[name] !== undefined) {
        ctx.addIssue({ code: "custom", path: [name], message: "is set but BARITO_KAFKA_SASL_MECHANISM is not" });
      }
    }
  }
}

/** Both or neither: a client certificate without its key (or the reverse) cannot work. */
export function checkPair<E extends Record<string, unknown>>(
  ctx: Ctx,
  env: E,
  first: keyof E & string,
  second: keyof E & string,
): void {
  if ((env[first] === undefined) !== (env[second] === undefined)) {
    const [missing, present] = env[first] === undefined ? [first, second] : [second, first];
    ctx.addIssue({ code: "custom", path: [missing], message: `is required when ${present} is set` });
  }
}

export function toKafkaConnection(env: SharedEnv, defaultClientId: string): KafkaConnectionConfig {
  const tls = env.BARITO_KAFKA_TLS_ENABLED
    ? {
        caCertPath: env.BARITO_KAFKA_TLS_CA_CERT,
        clientCertPath: env.BARITO_KAFKA_TLS_CLIENT_CERT,
        clientKeyPath: env.BARITO_KAFKA_TLS_CLIENT_KEY,
      }
    : undefined;
  const sasl =
    env.BARITO_KAFKA_SASL_MECHANISM !== undefined &&
    env.BARITO_KAFKA_SASL_USERNAME !== undefined &&
    env.BARITO_KAFKA_SASL_PASSWORD !== undefined
      ? {
          mechanism: env.BARITO_KAFKA_SASL_MECHANISM,
          username: env.BARITO_KAFKA_SASL_USERNAME,
          password: env.BARITO_KAFKA_SASL_PASSWORD,
        }
      : undefined;
  // From Consul: resolved by the app at startup (and again by each client that reconnects), none until then.
  const brokers =
    env.BARITO_KAFKA_BROKERS ?? (fromConsul(env.BARITO_KAFKA_BROKERS, env.BARITO_CONSUL_URL) ? [] : ["localhost:9092"]);
  return { brokers, clientId: env.BARITO_KAFKA_CLIENT_ID ?? defaultClientId, tls, sasl };
}

export interface SharedConfig {
  kafka: KafkaConnectionConfig & {
    topicPrefix: string;
    topicSuffix: string;
    newTopicEventTopic: string;
    /** Startup connection attempts; 0 = retry forever. */
    connectMaxRetry: number;
    connectRetryIntervalMs: number;
  };
  metrics: {
    address: ListenAddress;
    /** BARITO_EXPORTER_TOKEN: required as `Authorization: Bearer` on the operator port, except /healthz and /readyz. */
    token: string | undefined;
    pushUrl: string | undefined;
    pushIntervalMs: number;
  };
  /**
   * Consul (BARITO_CONSUL_URL): `kafkaService` is set when the brokers are to be resolved from it (then
   * `kafka.brokers` is empty until the app resolved them).
   */
  discovery: { consulUrl: string | undefined; kafkaService: string | undefined };
  log: LogConfig;
  shutdownTimeoutMs: number;
  /** Names of set variables that are accepted for compatibility but have no effect (warn about them). */
  inertVariables: string[];
}

export function toSharedConfig(
  env: SharedEnv,
  raw: Record<string, unknown>,
  defaultClientId: string,
  inert: readonly string[],
): SharedConfig {
  return {
    kafka: {
      ...toKafkaConnection(env, defaultClientId),
      topicPrefix: env.BARITO_KAFKA_TOPIC_PREFIX,
      topicSuffix: env.BARITO_KAFKA_TOPIC_SUFFIX,
      newTopicEventTopic: env.BARITO_NEW_TOPIC_EVENT,
      connectMaxRetry: env.BARITO_KAFKA_MAX_RETRY,
      connectRetryIntervalMs: env.BARITO_KAFKA_RETRY_INTERVAL,
    },
    metrics: {
      address: env.EXPORTER_PORT,
      token: env.BARITO_EXPORTER_TOKEN,
      pushUrl: env.BARITO_PUSH_METRIC_URL,
      pushIntervalMs: env.BARITO_PUSH_METRIC_INTERVAL,
    },
    discovery: {
      consulUrl: env.BARITO_CONSUL_URL,
      kafkaService: fromConsul(env.BARITO_KAFKA_BROKERS, env.BARITO_CONSUL_URL)
        ? env.BARITO_CONSUL_KAFKA_NAME
        : undefined,
    },
    log: {
      level: env.LOG_LEVEL,
      format: env.LOG_FORMAT ?? (env.NODE_ENV === "production" ? "json" : "pretty"),
    },
    shutdownTimeoutMs: env.BARITO_SHUTDOWN_TIMEOUT,
    inertVariables: inert.filter((name) => raw[name] !== undefined),
  };
}
