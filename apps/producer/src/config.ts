import { availableParallelism } from "node:os";
import {
  allIssues,
  booleanVar,
  byteSizeVar,
  checkListenerTls,
  checkSharedEnv,
  durationVar,
  enumVar,
  exporterTlsNames,
  exporterTlsShape,
  fromConsul,
  inertSharedVariables,
  integerVar,
  listenAddressVar,
  loadConfig,
  processCountVar,
  redisUrlVar,
  sharedEnvShape,
  stringVar,
  tlsMinVersionVar,
  toListenerTls,
  toSharedConfig,
} from "@barito-flow/config";
import type { DeepReadonly, Env, ListenAddress, ListenerTls } from "@barito-flow/config";
import { tlsFilesProblem } from "@barito-flow/tls";
import { z } from "zod";
import { type AuthSettings, authEnvShape, checkAuthEnv, toAuthSettings } from "./auth/auth-config.js";

export type RateLimitBackend = "local" | "redis";
export type KafkaMessageFormat = "Timber" | "TimberCollection";

const inertProducerVariables = [...inertSharedVariables, "BARITO_PRODUCER_MAX_TPS"] as const;

/** The in-flight cap's default: what the default memory budget (256 MB RSS, see apps/producer/README.md) holds. */
const defaultMaxInflightBytes = 40 * 1_048_576;

/**
 * librdkafka's queue holds the records of requests in flight, which the in-flight cap bounds; the headroom is for
 * the producer's own small records (new-topic announcements), which are not part of any request.
 */
const kafkaQueueHeadroom = { kbytes: 1_024, messages: 1_000 } as const;

/** Every producer variable (names of barito-flow Go, §2.1 and §2.2, plus the new ones); see README.md. */
export const producerEnvShape = {
  ...sharedEnvShape,
  BARITO_PRODUCER_GRPC: listenAddressVar({ default: ":8082" }),
  BARITO_PRODUCER_REST: listenAddressVar({ default: ":8080" }),
  BARITO_PRODUCER_REST_API: booleanVar({ default: true }),
  BARITO_GRPC_MAX_RECV_MSG_SIZE: integerVar({ default: 20_000_000, min: 1 }),
  BARITO_PRODUCER_MAX_RETRY: integerVar({ default: 10, min: 0 }),
  BARITO_PRODUCER_MAX_MESSAGE_BYTES: integerVar({ default: 1_000_000, min: 1 }),
  BARITO_PRODUCER_MAX_BATCH_ITEMS: integerVar({ default: 10_000, min: 1 }),
  BARITO_PRODUCER_MAX_INFLIGHT_BYTES: byteSizeVar({ default: defaultMaxInflightBytes, min: 1 }),
  BARITO_PRODUCER_MAX_INFLIGHT_RECORDS: integerVar({ default: 100_000, min: 1 }),
  BARITO_PRODUCER_REQUEST_TIMEOUT: durationVar({ default: "30s", unit: "s", minMs: 1 }),
  BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL: durationVar({ default: 10, unit: "s", minMs: 1 }),
  BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS: booleanVar({ default: false }),
  BARITO_PRODUCER_MAX_TOPIC_PARTITIONS: integerVar({ default: 1_000, min: 1, max: 1_000_000 }),
  BARITO_PRODUCER_WORKERS: processCountVar({ default: 1, max: 64, parallelism: availableParallelism }),
  BARITO_KAFKA_MESSAGE_FORMAT: enumVar(["Timber", "TimberCollection"], { default: "Timber" }),
  BARITO_RATE_LIMITER_OPT: enumVar(["LOCAL", "REDIS"], {
    default: "LOCAL",
    hints: { gubernator: "GUBERNATOR is not supported, use REDIS (shared limits across producer replicas)" },
  }),
  // No default here: empty means Consul when BARITO_CONSUL_URL is set, redis://localhost:6379 otherwise.
  BARITO_REDIS_URL: redisUrlVar(),
  BARITO_REDIS_PASSWORD: stringVar({ trim: false }),
  BARITO_REDIS_KEY_PREFIX: stringVar({ default: "barito:producer:ratelimit:" }),
  BARITO_CONSUL_REDIS_NAME: stringVar({ default: "redis" }),
  BARITO_PRODUCER_MAX_TPS: stringVar(),
  ...authEnvShape,
  BARITO_PRODUCER_TLS_CERT: stringVar(),
  BARITO_PRODUCER_TLS_KEY: stringVar(),
  BARITO_PRODUCER_TLS_CLIENT_CA: stringVar(),
  BARITO_PRODUCER_TLS_MIN_VERSION: tlsMinVersionVar(),
  ...exporterTlsShape,
};

/** TLS of the REST/Connect and gRPC ports; the operator port has its own (`exporterTlsNames`), see README.md. */
const producerTlsNames = {
  cert: "BARITO_PRODUCER_TLS_CERT",
  key: "BARITO_PRODUCER_TLS_KEY",
  clientCa: "BARITO_PRODUCER_TLS_CLIENT_CA",
  minVersion: "BARITO_PRODUCER_TLS_MIN_VERSION",
};

type ProducerEnv = z.output<z.ZodObject<typeof producerEnvShape>>;

/** The in-flight cap must admit the largest request and the largest batch, or those could never be served. */
const inFlightFloors = [
  ["BARITO_PRODUCER_MAX_INFLIGHT_BYTES", "BARITO_GRPC_MAX_RECV_MSG_SIZE", "the largest request"],
  ["BARITO_PRODUCER_MAX_INFLIGHT_RECORDS", "BARITO_PRODUCER_MAX_BATCH_ITEMS", "the largest batch"],
] as const;

function checkProducerEnv(env: ProducerEnv, ctx: z.RefinementCtx): void {
  checkSharedEnv(env, ctx);
  checkListenerTls(ctx, env, producerTlsNames, tlsFilesProblem);
  checkListenerTls(ctx, env, exporterTlsNames, tlsFilesProblem);
  checkAuthEnv(env, ctx);
  for (const [cap, floor, what] of inFlightFloors) {
    const [capValue, floorValue] = [env[cap], env[floor]];
    if (typeof capValue === "number" && typeof floorValue === "number" && capValue < floorValue) {
      ctx.addIssue({
        code: "custom",
        path: [cap],
        message: `must be at least ${floor} (${floorValue}), or ${what} could never be taken`,
      });
    }
  }
}

export const producerEnvSchema = z
  .object(producerEnvShape)
  .superRefine(checkProducerEnv, allIssues)
  .transform((env) => {
    const producer: ProducerSettings = {
      grpcAddress: env.BARITO_PRODUCER_GRPC,
      restEnabled: env.BARITO_PRODUCER_REST_API,
      restAddress: env.BARITO_PRODUCER_REST,
      grpcMaxRecvMsgSize: env.BARITO_GRPC_MAX_RECV_MSG_SIZE,
      kafkaMaxRetry: env.BARITO_PRODUCER_MAX_RETRY,
      maxMessageBytes: env.BARITO_PRODUCER_MAX_MESSAGE_BYTES,
      maxBatchItems: env.BARITO_PRODUCER_MAX_BATCH_ITEMS,
      maxInflightBytes: env.BARITO_PRODUCER_MAX_INFLIGHT_BYTES,
      maxInflightRecords: env.BARITO_PRODUCER_MAX_INFLIGHT_RECORDS,
      kafkaQueue: {
        maxKbytes: Math.ceil(env.BARITO_PRODUCER_MAX_INFLIGHT_BYTES / 1024) + kafkaQueueHeadroom.kbytes,
        maxMessages: env.BARITO_PRODUCER_MAX_INFLIGHT_RECORDS + kafkaQueueHeadroom.messages,
      },
      requestTimeoutMs: env.BARITO_PRODUCER_REQUEST_TIMEOUT,
      messageFormat: env.BARITO_KAFKA_MESSAGE_FORMAT,
      ignoreKafkaTopicOptions: env.BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS,
      maxTopicPartitions: env.BARITO_PRODUCER_MAX_TOPIC_PARTITIONS,
      workers: env.BARITO_PRODUCER_WORKERS,
      tls: toListenerTls(env, producerTlsNames),
      auth: toAuthSettings(env),
    };
    const backend = env.BARITO_RATE_LIMITER_OPT === "REDIS" ? "redis" : "local";
    const redisFromConsul = backend === "redis" && fromConsul(env.BARITO_REDIS_URL, env.BARITO_CONSUL_URL);
    const rateLimit: RateLimitSettings = {
      backend,
      intervalMs: env.BARITO_PRODUCER_RATE_LIMIT_RESET_INTERVAL,
      redis: {
        // From Consul: resolved by main.ts at startup, and again whenever the connection fails.
        url: env.BARITO_REDIS_URL ?? (redisFromConsul ? "" : "redis://localhost:6379"),
        consulService: redisFromConsul ? env.BARITO_CONSUL_REDIS_NAME : undefined,
        password: env.BARITO_REDIS_PASSWORD,
        keyPrefix: env.BARITO_REDIS_KEY_PREFIX,
      },
    };
    const exporterTls = toListenerTls(env, exporterTlsNames);
    return {
      ...toSharedConfig(env, env, "barito-flow-producer", inertProducerVariables),
      producer,
      rateLimit,
      exporterTls,
    };
  });

export interface ProducerSettings {
  grpcAddress: ListenAddress;
  /** Whether the REST/JSON listener runs (BARITO_PRODUCER_REST_API). */
  restEnabled: boolean;
  restAddress: ListenAddress;
  grpcMaxRecvMsgSize: number;
  kafkaMaxRetry: number;
  maxMessageBytes: number;
  maxBatchItems: number;
  /** Bytes of requests taken and not yet answered (bodies, decompressed messages, encoded records); see in-flight.ts. */
  maxInflightBytes: number;
  /** Records of requests taken and not yet answered. */
  maxInflightRecords: number;
  /** librdkafka's queue.buffering.max.kbytes / .max.messages: the in-flight cap plus `kafkaQueueHeadroom`. */
  kafkaQueue: { maxKbytes: number; maxMessages: number };
  requestTimeoutMs: number;
  messageFormat: KafkaMessageFormat;
  /** Create new topics with broker defaults instead of the context's partitions/replication. */
  ignoreKafkaTopicOptions: boolean;
  /** Largest `kafka_partition` a request may ask a new topic to have (BARITO_PRODUCER_MAX_TOPIC_PARTITIONS). */
  maxTopicPartitions: number;
  /** Worker processes sharing the listeners (BARITO_PRODUCER_WORKERS; 1 = no cluster). */
  workers: number;
  /** TLS (and mTLS) of the REST/Connect and gRPC ports (BARITO_PRODUCER_TLS_*); undefined: cleartext. */
  tls: ListenerTls | undefined;
  /** BARITO_PRODUCER_AUTH and its source of app secrets (auth/auth-config.ts). */
  auth: AuthSettings;
}

export interface RateLimitSettings {
  backend: RateLimitBackend;
  /** Window length; capacity per window = max_tps x interval in seconds. */
  intervalMs: number;
  /** `consulService`: the URL comes from Consul (BARITO_REDIS_URL empty, BARITO_CONSUL_URL set, REDIS backend). */
  redis: { url: string; password: string | undefined; keyPrefix: string; consulService: string | undefined };
}

export type ProducerConfig = DeepReadonly<z.output<typeof producerEnvSchema>>;

/** `loadConfig(producerEnvSchema, env)`: the producer's validated, frozen configuration. Throws `ConfigError`. */
export function loadProducerConfig(env: Env = process.env): ProducerConfig {
  return loadConfig(producerEnvSchema, env);
}
