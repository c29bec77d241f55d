// The three components of the local stack. Each knows how to start itself detached, recognise its own process,
// probe readiness with its own protocol, and stop only what this stack started.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { bundleDir, ensureBundle, lockedBundle } from "./artifacts.ts";
import { type ComponentName, type StackConfig, StackError } from "./config.ts";
import { requireJava } from "./java.ts";
import { kafkaMetadata, openSearchHealth, redisPing } from "./probes.ts";
import {
  isAlive,
  isPortOpen,
  ownedPid,
  portOwner,
  portOwnerPid,
  removePid,
  spawnDetached,
  stopProcess,
  tailFile,
  writePid,
} from "./processes.ts";

export type ComponentState = "running" | "starting" | "stopped" | "unavailable";

export interface ComponentStatus {
  name: ComponentName;
  state: ComponentState;
  /** Process id, ours or (for an external Redis) whoever listens on the port. */
  pid: number | undefined;
  /** True when this stack started the process (so `down` will stop it). */
  owned: boolean;
  address: string;
  version: string;
  detail: string;
}

export type StartOutcome = "started" | "already-running" | "external" | "unavailable";
export type StopOutcome = "stopped" | "killed" | "not-running" | "not-ours";

export type Log = (line: string) => void;

export interface Component {
  name: ComponentName;
  address(config: StackConfig): string;
  status(config: StackConfig): Promise<ComponentStatus>;
  /** Downloads/extracts what start needs; separate so `up` can show download progress before parallel starts. */
  prepare(config: StackConfig, log: Log): Promise<void>;
  start(config: StackConfig, log: Log): Promise<StartOutcome>;
  stop(config: StackConfig, options: { force?: boolean }): Promise<StopOutcome>;
  /** Main log first; the process's own stdout/stderr capture after it. */
  logFiles(config: StackConfig): string[];
  /** Everything `reset` wipes for this component. */
  stateDir(config: StackConfig): string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TAIL_LINES = 30;

function describeTail(files: string[]): string {
  const parts: string[] = [];
  for (const file of files) {
    const lines = tailFile(file, TAIL_LINES);
    if (lines.length > 0) parts.push(`--- last ${lines.length} lines of ${file} ---\n${lines.join("\n")}`);
  }
  return parts.length > 0 ? parts.join("\n") : `(no log output in ${files.join(", ")})`;
}

async function ensurePortFree(config: StackConfig, port: number, envName: string, what: string): Promise<void> {
  if (!(await isPortOpen(config.host, port, 500))) return;
  const owner = portOwner(port);
  throw new StackError(
    "port_in_use",
    `port ${port} (${what}) on ${config.host} is already taken by ${owner ?? "another process"}; stop it or choose another port with ${envName}`,
  );
}

/** Polls the probe until it succeeds; fails fast if the process died, stops it if it never became ready. */
async function waitReady(
  config: StackConfig,
  component: Component,
  pid: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + config.readyTimeoutSec * 1000;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new StackError(
        "component_exited",
        `${component.name} (pid ${pid}) exited during startup\n${describeTail(component.logFiles(config))}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(500);
  }
  await stopProcess(pid, 10_000);
  throw new StackError(
    "not_ready",
    `${component.name} did not become ready on ${component.address(config)} within ${config.readyTimeoutSec}s (STACK_READY_TIMEOUT)${lastError ? `; last probe error: ${lastError}` : ""}; it was stopped again\n${describeTail(component.logFiles(config))}`,
  );
}

// ---------------------------------------------------------------------------------------------------- Kafka

function kafkaPaths(config: StackConfig) {
  const dir = join(config.stackDir, "kafka");
  return {
    dir,
    data: join(dir, "data"),
    logs: join(dir, "logs"),
    properties: join(dir, "server.properties"),
    log4j: join(dir, "log4j2.properties"),
    pidFile: join(config.stackDir, "kafka.pid"),
    out: join(dir, "logs", "kafka.out"),
  };
}

/** The account of the SASL listener (a throwaway local credential, not a secret). */
export const KAFKA_SASL_USER = { username: "barito", password: "barito-local-secret" } as const;

function kafkaServerProperties(config: StackConfig, dataDir: string): string {
  const { host, kafkaPort, kafkaControllerPort, kafkaSaslPort } = config;
  const sasl = kafkaSaslPort > 0;
  return `# Generated by scripts/stack on every start; edit scripts/stack/components.ts instead.
# One combined broker+controller in KRaft mode (keep in sync with docker-compose.yml).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${kafkaControllerPort}
listeners=PLAINTEXT://${host}:${kafkaPort},CONTROLLER://${host}:${kafkaControllerPort}${sasl ? `,SASL_PLAINTEXT://${host}:${kafkaSaslPort}` : ""}
advertised.listeners=PLAINTEXT://${host}:${kafkaPort}${sasl ? `,SASL_PLAINTEXT://${host}:${kafkaSaslPort}` : ""}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sasl ? ",SASL_PLAINTEXT:SASL_PLAINTEXT" : ""}
${
  sasl
    ? `# SASL/PLAIN on its own port, for the apps' SASL tests; PLAINTEXT stays open for everything else.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${KAFKA_SASL_USER.username}="${KAFKA_SASL_USER.password}";
`
    : ""
}log.dirs=${dataDir}
# A single broker cannot replicate internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join consumer groups constantly; the default 3 s delay would slow each one down.
group.initial.rebalance.delay.ms=0
# barito's producer relies on topic auto-creation (new_topic_events flow).
auto.create.topics.enable=true
num.partitions=1
# message.max.bytes stays at Kafka's default (1048588 B): it is above barito's producer limit
# (BARITO_PRODUCER_MAX_MESSAGE_BYTES, 1000000), which is what the Go original runs against.
`;
}

const KAFKA_LOG4J = `# Broker log to a size-rotated file (the JVM's stdout goes to kafka.out).
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.filePattern = \${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
`;

/** Kafka's cluster id format: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export const kafka: Component = {
  name: "kafka",
  address: (config) => `${config.host}:${config.kafkaPort}`,
  logFiles: (config) => [join(kafkaPaths(config).logs, "server.log"), kafkaPaths(config).out],
  stateDir: (config) => kafkaPaths(config).dir,

  async status(config) {
    const paths = kafkaPaths(config);
    const version = lockedBundle("kafka").version;
    const pid = ownedPid(paths.pidFile, paths.properties);
    const base = { name: "kafka" as const, pid, owned: pid !== undefined, address: this.address(config), version };
    if (pid === undefined) {
      const open = await isPortOpen(config.host, config.kafkaPort, 500);
      return {
        ...base,
        pid: open ? portOwnerPid(config.kafkaPort) : undefined,
        state: "stopped",
        detail: open ? `port taken by ${portOwner(config.kafkaPort) ?? "another process"}` : "",
      };
    }
    try {
      const metadata = await kafkaMetadata(config.host, config.kafkaPort, 2000);
      if (metadata.brokers.length > 0)
        return {
          ...base,
          state: "running",
          detail: `cluster ${metadata.clusterId}, ${metadata.brokers.length} broker(s)`,
        };
      return { ...base, state: "starting", detail: "no broker registered yet" };
    } catch (error) {
      return { ...base, state: "starting", detail: (error as Error).message };
    }
  },

  async prepare(config, log) {
    await ensureBundle(config, "kafka", log);
  },

  async start(config, log) {
    const paths = kafkaPaths(config);
    const running = ownedPid(paths.pidFile, paths.properties);
    if (running !== undefined) return "already-running";
    removePid(paths.pidFile);
    const java = requireJava();
    await ensurePortFree(config, config.kafkaPort, "STACK_KAFKA_PORT", "Kafka broker");
    await ensurePortFree(config, config.kafkaControllerPort, "STACK_KAFKA_CONTROLLER_PORT", "Kafka controller");
    if (config.kafkaSaslPort > 0) {
      await ensurePortFree(config, config.kafkaSaslPort, "STACK_KAFKA_SASL_PORT", "Kafka SASL listener");
    }
    const libs = await ensureBundle(config, "kafka", log);

    mkdirSync(paths.data, { recursive: true });
    mkdirSync(paths.logs, { recursive: true });
    writeFileSync(paths.properties, kafkaServerProperties(config, paths.data));
    writeFileSync(paths.log4j, KAFKA_LOG4J);
    const jvm = [
      `-Xms${config.kafkaHeap}`,
      `-Xmx${config.kafkaHeap}`,
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${paths.log4j}`,
      `-Dkafka.logs.dir=${paths.logs}`,
      "-cp",
      join(libs, "*"),
    ];

    if (!existsSync(join(paths.data, "meta.properties"))) {
      const clusterId = kafkaClusterId();
      log(`kafka: formatting ${paths.data} (cluster id ${clusterId})`);
      const format = spawnSync(
        java.binary,
        [
          ...jvm.filter((a) => !a.startsWith("-Xm")),
          "kafka.tools.StorageTool",
          "format",
          "-t",
          clusterId,
          "-c",
          paths.properties,
        ],
        {
          encoding: "utf8",
        },
      );
      if (format.status !== 0) {
        throw new StackError(
          "kafka_format_failed",
          `kafka storage format failed (exit ${format.status}):\n${`${format.stdout}${format.stderr}`.trim().split("\n").slice(-TAIL_LINES).join("\n")}`,
        );
      }
    }

    writeFileSync(
      paths.out,
      `\n=== ${new Date().toISOString()} starting Kafka ${lockedBundle("kafka").version} ===\n`,
      { flag: "a" },
    );
    const pid = spawnDetached({
      command: java.binary,
      args: [...jvm, "kafka.Kafka", paths.properties],
      cwd: paths.dir,
      env: process.env,
      logFile: paths.out,
    });
    writePid(paths.pidFile, pid);
    await waitReady(
      config,
      this,
      pid,
      async () => (await kafkaMetadata(config.host, config.kafkaPort, 2000)).brokers.length > 0,
    );
    return "started";
  },

  async stop(config, options) {
    const paths = kafkaPaths(config);
    const pid = ownedPid(paths.pidFile, paths.properties);
    removePidIfStale(paths.pidFile, pid);
    if (pid === undefined) return "not-running";
    // A single KRaft node shuts down cleanly in a few seconds; the grace period covers a slow log flush.
    const outcome = await stopProcess(pid, 30_000, options.force);
    removePid(paths.pidFile);
    return outcome;
  },
};

function removePidIfStale(pidFile: string, pid: number | undefined): void {
  if (pid === undefined) removePid(pidFile);
}

// ---------------------------------------------------------------------------------------------------- OpenSearch

function openSearchPaths(config: StackConfig) {
  const dir = join(config.stackDir, "opensearch");
  return {
    dir,
    // Extracted here rather than in the cache: the cache may sit under /root, which the unprivileged
    // OpenSearch user cannot traverse.
    home: join(dir, "home"),
    config: join(dir, "config"),
    data: join(dir, "data"),
    logs: join(dir, "logs"),
    pidFile: join(config.stackDir, "opensearch.pid"),
    out: join(dir, "logs", "opensearch.out"),
  };
}

const OPENSEARCH_CLUSTER = "barito-stack";

function openSearchYml(config: StackConfig, paths: ReturnType<typeof openSearchPaths>): string {
  return `# Generated by scripts/stack on every start (keep in sync with docker-compose.yml).
cluster.name: ${OPENSEARCH_CLUSTER}
node.name: stack-1
network.host: ${config.host}
http.port: ${config.opensearchPort}
discovery.type: single-node
path.data: ${paths.data}
path.logs: ${paths.logs}
# Dev boxes often run with a fairly full disk; the watermarks would turn indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
`;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** OpenSearch (and Elasticsearch) refuse to run as root; when we are root, run them as a dedicated system account. */
function openSearchRunAs(config: StackConfig, log: Log, product = "OpenSearch"): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = config.opensearchUser;
  let id = spawnSync("id", ["-u", user], { encoding: "utf8" });
  if (id.status !== 0) {
    log(`${product.toLowerCase()}: creating system user ${user} (${product} refuses to run as root)`);
    const add = spawnSync(
      "useradd",
      ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
      { encoding: "utf8" },
    );
    if (add.status !== 0)
      throw new StackError("user_create_failed", `useradd ${user} failed: ${(add.stderr || add.stdout).trim()}`);
    id = spawnSync("id", ["-u", user], { encoding: "utf8" });
  }
  const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
  const uidValue = Number(id.stdout.trim());
  const gidValue = Number(gid.stdout.trim());
  if (!Number.isInteger(uidValue) || !Number.isInteger(gidValue))
    throw new StackError("user_lookup_failed", `cannot read the uid/gid of ${user}`);
  return { uid: uidValue, gid: gidValue, user };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

function extractOpenSearch(config: StackConfig, paths: ReturnType<typeof openSearchPaths>, log: Log): void {
  const version = lockedBundle("opensearch").version;
  const stamp = join(paths.home, ".barito-extracted");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return;
  const zip = join(bundleDir(config, "opensearch"), `opensearch-${version}.zip`);
  const scratch = join(paths.dir, ".extract");
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`opensearch: extracting ${zip}`);
  const unzip = spawnSync("unzip", ["-q", zip, "-d", scratch], { encoding: "utf8" });
  if (unzip.error || unzip.status !== 0) {
    throw new StackError(
      "extract_failed",
      `cannot extract ${zip} (needs unzip): ${unzip.error?.message ?? unzip.stderr.trim()}`,
    );
  }
  rmSync(paths.home, { recursive: true, force: true });
  renameSync(join(scratch, `opensearch-${version}`), paths.home);
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(stamp, `${version}\n`);
}

export const opensearch: Component = {
  name: "opensearch",
  address: (config) => `http://${config.host}:${config.opensearchPort}`,
  logFiles: (config) => [join(openSearchPaths(config).logs, `${OPENSEARCH_CLUSTER}.log`), openSearchPaths(config).out],
  stateDir: (config) => openSearchPaths(config).dir,

  async status(config) {
    const paths = openSearchPaths(config);
    const pid = ownedPid(paths.pidFile, paths.home);
    const base = {
      name: "opensearch" as const,
      pid,
      owned: pid !== undefined,
      address: this.address(config),
      version: lockedBundle("opensearch").version,
    };
    if (pid === undefined) {
      const open = await isPortOpen(config.host, config.opensearchPort, 500);
      return {
        ...base,
        pid: open ? portOwnerPid(config.opensearchPort) : undefined,
        state: "stopped",
        detail: open ? `port taken by ${portOwner(config.opensearchPort) ?? "another process"}` : "",
      };
    }
    try {
      const info = await openSearchHealth(this.address(config), 2000);
      const state = info.status === "red" ? "starting" : "running";
      return { ...base, version: info.version, state, detail: `cluster health ${info.status}` };
    } catch (error) {
      return { ...base, state: "starting", detail: (error as Error).message };
    }
  },

  async prepare(config, log) {
    await ensureBundle(config, "opensearch", log);
    const paths = openSearchPaths(config);
    mkdirSync(paths.dir, { recursive: true });
    extractOpenSearch(config, paths, log);
  },

  async start(config, log) {
    const paths = openSearchPaths(config);
    if (ownedPid(paths.pidFile, paths.home) !== undefined) return "already-running";
    removePid(paths.pidFile);
    const java = requireJava();
    await ensurePortFree(config, config.opensearchPort, "STACK_OPENSEARCH_PORT", "OpenSearch HTTP");
    await this.prepare(config, log);

    for (const dir of [paths.config, paths.data, paths.logs]) mkdirSync(dir, { recursive: true });
    for (const entry of ["jvm.options.d", "log4j2.properties"]) {
      cpSync(join(paths.home, "config", entry), join(paths.config, entry), { recursive: true, force: true });
    }
    // bin/opensearch runs from the install dir, so the relative gc/error/heap-dump paths of the stock
    // jvm.options would point into the (read-only for the service user) install; make them ours.
    const jvmOptions = readFileSync(join(paths.home, "config", "jvm.options"), "utf8")
      .replaceAll("file=logs/", `file=${paths.logs}/`)
      .replaceAll("Xloggc:logs/", `Xloggc:${paths.logs}/`)
      .replaceAll("filecount=32,filesize=64m", "filecount=4,filesize=16m")
      .replaceAll("ErrorFile=logs/", `ErrorFile=${paths.logs}/`)
      .replace(/HeapDumpPath=data\b/, `HeapDumpPath=${paths.data}`);
    writeFileSync(join(paths.config, "jvm.options"), jvmOptions);
    writeFileSync(join(paths.config, "opensearch.yml"), openSearchYml(config, paths));
    writeFileSync(paths.out, `\n=== ${new Date().toISOString()} starting OpenSearch ===\n`, { flag: "a" });

    const runAs = openSearchRunAs(config, log);
    if (runAs) {
      chownSync(paths.dir, runAs.uid, runAs.gid);
      for (const dir of [paths.config, paths.data, paths.logs]) chownTree(dir, runAs.uid, runAs.gid);
    }
    const pid = spawnDetached({
      command: join(paths.home, "bin", "opensearch"),
      args: [],
      cwd: paths.dir,
      env: {
        ...process.env,
        HOME: paths.dir,
        OPENSEARCH_PATH_CONF: paths.config,
        OPENSEARCH_JAVA_HOME: java.home,
        OPENSEARCH_JAVA_OPTS: `-Xms${config.opensearchHeap} -Xmx${config.opensearchHeap}`,
      },
      logFile: paths.out,
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    writePid(paths.pidFile, pid);
    await waitReady(
      config,
      this,
      pid,
      async () => (await openSearchHealth(this.address(config), 2000)).status !== "red",
    );
    return "started";
  },

  async stop(config, options) {
    const paths = openSearchPaths(config);
    const pid = ownedPid(paths.pidFile, paths.home);
    removePidIfStale(paths.pidFile, pid);
    if (pid === undefined) return "not-running";
    const outcome = await stopProcess(pid, 30_000, options.force);
    removePid(paths.pidFile);
    return outcome;
  },
};

// ---------------------------------------------------------------------------------------------------- Elasticsearch

// Opt-in (not part of `up`): only for the tests that check the consumer against Elasticsearch as well. The
// integ-test distributions have no bundled JDK and run on the stack's Java 17: 8.17.0 (default distribution minus
// most modules: no GET /, no GET _data_stream, but data streams are created from templates) or, with
// STACK_ELASTICSEARCH_VERSION=7.10.2, the OSS 7.10.2 (no x-pack: no data streams at all).

function elasticsearchBundle(config: StackConfig): "elasticsearch" | "elasticsearch7" {
  return config.elasticsearchVersion.startsWith("7.") ? "elasticsearch7" : "elasticsearch";
}

function elasticsearchPaths(config: StackConfig) {
  // One directory per major version: 7.10 cannot read the data directory 8.x leaves behind.
  const name = elasticsearchBundle(config);
  const dir = join(config.stackDir, name);
  return {
    dir,
    home: join(dir, "home"),
    config: join(dir, "config"),
    data: join(dir, "data"),
    logs: join(dir, "logs"),
    pidFile: join(config.stackDir, `${name}.pid`),
    out: join(dir, "logs", "elasticsearch.out"),
  };
}

const ELASTICSEARCH_CLUSTER = "barito-stack-es";

function elasticsearchYml(config: StackConfig, paths: ReturnType<typeof elasticsearchPaths>): string {
  return `# Generated by scripts/stack on every start; edit scripts/stack/components.ts instead.
cluster.name: ${ELASTICSEARCH_CLUSTER}
node.name: stack-es-1
network.host: ${config.host}
http.port: ${config.elasticsearchPort}
discovery.type: single-node
path.data: ${paths.data}
path.logs: ${paths.logs}
cluster.routing.allocation.disk.threshold_enabled: false
${config.elasticsearchVersion.startsWith("7.") ? "# OSS build: no security to turn off.\n" : "xpack.security.enabled: false\n"}`;
}

function extractElasticsearch(config: StackConfig, paths: ReturnType<typeof elasticsearchPaths>, log: Log): void {
  const bundle = elasticsearchBundle(config);
  const version = lockedBundle(bundle).version;
  const stamp = join(paths.home, ".barito-extracted");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return;
  const zip = join(bundleDir(config, bundle), `elasticsearch-${version}.zip`);
  const scratch = join(paths.dir, ".extract");
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`elasticsearch: extracting ${zip}`);
  const unzip = spawnSync("unzip", ["-q", zip, "-d", scratch], { encoding: "utf8" });
  if (unzip.error || unzip.status !== 0) {
    throw new StackError(
      "extract_failed",
      `cannot extract ${zip} (needs unzip): ${unzip.error?.message ?? unzip.stderr.trim()}`,
    );
  }
  rmSync(paths.home, { recursive: true, force: true });
  renameSync(join(scratch, `elasticsearch-${version}`), paths.home);
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(stamp, `${version}\n`);
}

export const elasticsearch: Component = {
  name: "elasticsearch",
  address: (config) => `http://${config.host}:${config.elasticsearchPort}`,
  logFiles: (config) => [
    join(elasticsearchPaths(config).logs, `${ELASTICSEARCH_CLUSTER}.log`),
    elasticsearchPaths(config).out,
  ],
  stateDir: (config) => elasticsearchPaths(config).dir,

  async status(config) {
    const paths = elasticsearchPaths(config);
    const pid = ownedPid(paths.pidFile, paths.home);
    const base = {
      name: "elasticsearch" as const,
      pid,
      owned: pid !== undefined,
      address: this.address(config),
      version: config.elasticsearchVersion,
    };
    if (pid === undefined) {
      const open = await isPortOpen(config.host, config.elasticsearchPort, 500);
      return {
        ...base,
        pid: open ? portOwnerPid(config.elasticsearchPort) : undefined,
        state: "stopped",
        detail: open ? `port taken by ${portOwner(config.elasticsearchPort) ?? "another process"}` : "opt-in",
      };
    }
    try {
      // 8.x's integ-test build has no GET / (the version then reads "unknown"): keep the configured one.
      const info = await openSearchHealth(this.address(config), 2000);
      const state = info.status === "red" ? "starting" : "running";
      const version = info.version === "unknown" ? base.version : info.version;
      return { ...base, version, state, detail: `cluster health ${info.status}` };
    } catch (error) {
      return { ...base, state: "starting", detail: (error as Error).message };
    }
  },

  async prepare(config, log) {
    await ensureBundle(config, elasticsearchBundle(config), log);
    const paths = elasticsearchPaths(config);
    mkdirSync(paths.dir, { recursive: true });
    extractElasticsearch(config, paths, log);
  },

  async start(config, log) {
    const paths = elasticsearchPaths(config);
    if (ownedPid(paths.pidFile, paths.home) !== undefined) return "already-running";
    removePid(paths.pidFile);
    const java = requireJava();
    await ensurePortFree(config, config.elasticsearchPort, "STACK_ELASTICSEARCH_PORT", "Elasticsearch HTTP");
    await this.prepare(config, log);

    for (const dir of [paths.config, paths.data, paths.logs]) mkdirSync(dir, { recursive: true });
    for (const entry of ["jvm.options.d", "log4j2.properties"]) {
      cpSync(join(paths.home, "config", entry), join(paths.config, entry), { recursive: true, force: true });
    }
    // Same relocation of the stock jvm.options' relative paths as for OpenSearch.
    const jvmOptions = readFileSync(join(paths.home, "config", "jvm.options"), "utf8")
      .replaceAll("file=logs/", `file=${paths.logs}/`)
      .replaceAll("Xloggc:logs/", `Xloggc:${paths.logs}/`)
      .replaceAll("filecount=32,filesize=64m", "filecount=4,filesize=16m")
      .replaceAll("ErrorFile=logs/", `ErrorFile=${paths.logs}/`)
      .replace(/HeapDumpPath=data\b/, `HeapDumpPath=${paths.data}`);
    writeFileSync(join(paths.config, "jvm.options"), jvmOptions);
    writeFileSync(join(paths.config, "elasticsearch.yml"), elasticsearchYml(config, paths));
    writeFileSync(
      paths.out,
      `\n=== ${new Date().toISOString()} starting Elasticsearch ${config.elasticsearchVersion} ===\n`,
      { flag: "a" },
    );

    const runAs = openSearchRunAs(config, log, "Elasticsearch");
    if (runAs) {
      chownSync(paths.dir, runAs.uid, runAs.gid);
      for (const dir of [paths.config, paths.data, paths.logs]) chownTree(dir, runAs.uid, runAs.gid);
    }
    const pid = spawnDetached({
      command: join(paths.home, "bin", "elasticsearch"),
      args: [],
      cwd: paths.dir,
      env: {
        ...process.env,
        HOME: paths.dir,
        ES_PATH_CONF: paths.config,
        // 8.x reads ES_JAVA_HOME, 7.10 still JAVA_HOME (with a deprecation note).
        ES_JAVA_HOME: java.home,
        JAVA_HOME: java.home,
        ES_JAVA_OPTS: `-Xms${config.elasticsearchHeap} -Xmx${config.elasticsearchHeap}`,
      },
      logFile: paths.out,
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    writePid(paths.pidFile, pid);
    await waitReady(
      config,
      this,
      pid,
      async () => (await openSearchHealth(this.address(config), 2000)).status !== "red",
    );
    return "started";
  },

  async stop(config, options) {
    const paths = elasticsearchPaths(config);
    const pid = ownedPid(paths.pidFile, paths.home);
    removePidIfStale(paths.pidFile, pid);
    if (pid === undefined) return "not-running";
    const outcome = await stopProcess(pid, 30_000, options.force);
    removePid(paths.pidFile);
    return outcome;
  },
};

// ---------------------------------------------------------------------------------------------------- Redis

function redisPaths(config: StackConfig) {
  const dir = join(config.stackDir, "redis");
  return { dir, pidFile: join(config.stackDir, "redis.pid"), log: join(dir, "redis.log") };
}

// redis-server rewrites its argv to "redis-server host:port", so only the binary name is stable.
const REDIS_MARKER = "redis-server";

function redisServerInstalled(): boolean {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return !probe.error && probe.status === 0;
}

export const redis: Component = {
  name: "redis",
  address: (config) => `${config.host}:${config.redisPort}`,
  logFiles: (config) => [redisPaths(config).log],
  stateDir: (config) => redisPaths(config).dir,

  async status(config) {
    const paths = redisPaths(config);
    const ours = ownedPid(paths.pidFile, REDIS_MARKER);
    const base = { name: "redis" as const, address: this.address(config), owned: ours !== undefined };
    try {
      const { version } = await redisPing(config.host, config.redisPort, 1500);
      const pid = ours ?? portOwnerPid(config.redisPort);
      return {
        ...base,
        pid,
        state: "running",
        version,
        detail:
          ours !== undefined
            ? "started by this stack"
            : "already running on this machine (not ours: never stopped by the stack)",
      };
    } catch (error) {
      if (ours !== undefined)
        return { ...base, pid: ours, state: "starting", version: "", detail: (error as Error).message };
      const installed = redisServerInstalled();
      return {
        ...base,
        pid: undefined,
        state: installed ? "stopped" : "unavailable",
        version: "",
        detail: installed
          ? ""
          : "no Redis answers and redis-server is not installed: Redis-backed features (distributed rate limit) are unavailable",
      };
    }
  },

  async prepare() {},

  async start(config, log) {
    const paths = redisPaths(config);
    if (ownedPid(paths.pidFile, REDIS_MARKER) !== undefined) return "already-running";
    try {
      await redisPing(config.host, config.redisPort, 1500);
      return "external";
    } catch {
      // nobody answers: start our own if we can
    }
    removePid(paths.pidFile);
    if (!redisServerInstalled()) {
      log(
        "redis: no Redis answers and redis-server is not installed: Redis-backed features (distributed rate limit) are unavailable",
      );
      return "unavailable";
    }
    await ensurePortFree(config, config.redisPort, "STACK_REDIS_PORT", "Redis");
    mkdirSync(paths.dir, { recursive: true });
    const pid = spawnDetached({
      command: "redis-server",
      args: [
        "--bind",
        config.host,
        "--port",
        String(config.redisPort),
        "--dir",
        paths.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
      ],
      cwd: paths.dir,
      env: process.env,
      logFile: paths.log,
    });
    writePid(paths.pidFile, pid);
    await waitReady(config, this, pid, async () => {
      await redisPing(config.host, config.redisPort, 1000);
      return true;
    });
    return "started";
  },

  async stop(config, options) {
    const paths = redisPaths(config);
    const pid = ownedPid(paths.pidFile, REDIS_MARKER);
    removePidIfStale(paths.pidFile, pid);
    if (pid === undefined) {
      try {
        await redisPing(config.host, config.redisPort, 1000);
        return "not-ours";
      } catch {
        return "not-running";
      }
    }
    const outcome = await stopProcess(pid, 10_000, options.force);
    removePid(paths.pidFile);
    return outcome;
  },
};

export const COMPONENTS: Record<ComponentName, Component> = { kafka, opensearch, redis, elasticsearch };
