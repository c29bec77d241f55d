// Where the local stack keeps its files and which ports/heaps it uses. Every value can be overridden by an
// environment variable so two checkouts (or a CI box with busy ports) can run side by side.
import { existsSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const COMPONENT_NAMES = ["kafka", "opensearch", "redis", "elasticsearch"] as const;
/** The components of `--cluster`: three Kafka nodes, two OpenSearch nodes and the cluster's own Redis. */
export const CLUSTER_COMPONENT_NAMES = [
  "kafka-1",
  "kafka-2",
  "kafka-3",
  "opensearch-1",
  "opensearch-2",
  "redis",
] as const;
export type SingleComponentName = (typeof COMPONENT_NAMES)[number];
export type ClusterComponentName = (typeof CLUSTER_COMPONENT_NAMES)[number];
/** A component of either stack; which one a command addresses is told by `--cluster`. */
export type ComponentName = SingleComponentName | ClusterComponentName;
/** What `up`, `status --quiet` and Jest's globalSetup mean by "the stack"; the others start only when named. */
export const DEFAULT_COMPONENTS: readonly ComponentName[] = ["kafka", "opensearch", "redis"];
/** Elasticsearch distributions the opt-in `elasticsearch` component can run (both pinned in stack.lock.json). */
export const ELASTICSEARCH_VERSIONS = ["8.17.0", "7.10.2"] as const;
export type ElasticsearchVersion = (typeof ELASTICSEARCH_VERSIONS)[number];

/**
 * Where the cluster runs: its own directory and a port block apart from the single stack's, so both run side by
 * side. Node i (1-based) listens on the base port + i - 1.
 */
export interface ClusterConfig {
  dir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  opensearchPort: number;
  opensearchTransportPort: number;
  redisPort: number;
  kafkaHeap: string;
  opensearchHeap: string;
}

export interface StackConfig {
  repoRoot: string;
  /** Data, logs and pid files of this checkout's stack (`.stack/`, gitignored). */
  stackDir: string;
  /** Verified downloads shared by every checkout on the machine. */
  cacheDir: string;
  /** Maven local repository to resolve into; undefined = Maven's own default (~/.m2/repository). */
  mavenRepoLocal: string | undefined;
  host: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  /**
   * SASL_PLAINTEXT (PLAIN) listener for the apps' SASL tests; 0 = none. Defaults to 9094 only with the default
   * Kafka port, so a second stack on other ports (pnpm chaos) does not collide with the first one's.
   */
  kafkaSaslPort: number;
  opensearchPort: number;
  redisPort: number;
  elasticsearchPort: number;
  kafkaHeap: string;
  opensearchHeap: string;
  elasticsearchHeap: string;
  elasticsearchVersion: ElasticsearchVersion;
  /** Seconds `up`/`start` waits for a component to answer before giving up. */
  readyTimeoutSec: number;
  /** Unprivileged account OpenSearch (and Elasticsearch) runs as when the stack is started by root (OpenSearch refuses root). */
  opensearchUser: string;
  cluster: ClusterConfig;
}

/** Every failure the stack reports on purpose: `code` is machine-readable, the message says what to do. */
export class StackError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "StackError";
    this.code = code;
  }
}

const repoRootDefault = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new StackError("invalid_env", `${name}=${JSON.stringify(raw)} is not a TCP port (1-65535)`);
  }
  return value;
}

function heap(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[1-9][0-9]*[mMgG]$/.test(raw)) {
    throw new StackError("invalid_env", `${name}=${JSON.stringify(raw)} is not a JVM heap size such as 512m or 1g`);
  }
  return raw;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new StackError("invalid_env", `${name}=${JSON.stringify(raw)} is not a positive integer`);
  }
  return value;
}

function elasticsearchVersion(env: NodeJS.ProcessEnv): ElasticsearchVersion {
  const raw = env.STACK_ELASTICSEARCH_VERSION;
  if (raw === undefined || raw === "") return ELASTICSEARCH_VERSIONS[0];
  const known = ELASTICSEARCH_VERSIONS.find((v) => v === raw);
  if (!known) {
    throw new StackError(
      "invalid_env",
      `STACK_ELASTICSEARCH_VERSION=${JSON.stringify(raw)} is not one of ${ELASTICSEARCH_VERSIONS.join(", ")}`,
    );
  }
  return known;
}

/**
 * The stack's processes are recognised by their directory in their command line, so a symlinked stack directory (a
 * worktree sharing another checkout's stack) must resolve to the same path, or its running processes look stale.
 */
function realDir(path: string): string {
  return existsSync(path) ? realpathSync(path) : path;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const repoRoot = repoRootDefault;
  return {
    repoRoot,
    stackDir: realDir(resolve(repoRoot, env.STACK_DIR || ".stack")),
    cacheDir: resolve(env.STACK_CACHE_DIR || join(homedir(), ".cache", "barito-flow", "stack")),
    mavenRepoLocal: env.STACK_MAVEN_REPO ? resolve(env.STACK_MAVEN_REPO) : undefined,
    host: "127.0.0.1",
    kafkaPort: port(env, "STACK_KAFKA_PORT", 9092),
    kafkaControllerPort: port(env, "STACK_KAFKA_CONTROLLER_PORT", 9093),
    kafkaSaslPort: env.STACK_KAFKA_SASL_PORT || !env.STACK_KAFKA_PORT ? port(env, "STACK_KAFKA_SASL_PORT", 9094) : 0,
    opensearchPort: port(env, "STACK_OPENSEARCH_PORT", 9200),
    redisPort: port(env, "STACK_REDIS_PORT", 6379),
    elasticsearchPort: port(env, "STACK_ELASTICSEARCH_PORT", 9201),
    kafkaHeap: heap(env, "STACK_KAFKA_HEAP", "512m"),
    opensearchHeap: heap(env, "STACK_OPENSEARCH_HEAP", "512m"),
    elasticsearchHeap: heap(env, "STACK_ELASTICSEARCH_HEAP", "384m"),
    elasticsearchVersion: elasticsearchVersion(env),
    readyTimeoutSec: positiveInt(env, "STACK_READY_TIMEOUT", 180),
    opensearchUser: env.STACK_OPENSEARCH_USER || "barito-stack",
    cluster: {
      dir: realDir(resolve(repoRoot, env.STACK_CLUSTER_DIR || ".stack-cluster")),
      kafkaPort: port(env, "STACK_CLUSTER_KAFKA_PORT", 19092),
      kafkaControllerPort: port(env, "STACK_CLUSTER_KAFKA_CONTROLLER_PORT", 19192),
      opensearchPort: port(env, "STACK_CLUSTER_OPENSEARCH_PORT", 19200),
      opensearchTransportPort: port(env, "STACK_CLUSTER_OPENSEARCH_TRANSPORT_PORT", 19300),
      redisPort: port(env, "STACK_CLUSTER_REDIS_PORT", 16379),
      kafkaHeap: heap(env, "STACK_CLUSTER_KAFKA_HEAP", "384m"),
      opensearchHeap: heap(env, "STACK_CLUSTER_OPENSEARCH_HEAP", "512m"),
    },
  };
}

export function isComponentName(value: string): value is SingleComponentName {
  return (COMPONENT_NAMES as readonly string[]).includes(value);
}

export function isClusterComponentName(value: string): value is ClusterComponentName {
  return (CLUSTER_COMPONENT_NAMES as readonly string[]).includes(value);
}

/** The config the cluster's components run under: the cluster's directory (pid files, lock) and Redis port. */
export function clusterView(config: StackConfig): StackConfig {
  return { ...config, stackDir: config.cluster.dir, redisPort: config.cluster.redisPort };
}
