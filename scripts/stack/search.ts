// The search engines of the stack: OpenSearch (the default) and Elasticsearch (opt-in), one implementation
// parameterised by the distribution. Both ship as integ-test zips without a bundled JDK, run on the stack's Java,
// refuse to run as root, and keep their config, data and logs in the stack's directory.
import { spawnSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BundleName, bundleDir, ensureBundle, lockedBundle } from "./artifacts.ts";
import {
  type Component,
  type ComponentStatus,
  ensurePortFree,
  type Log,
  stopOwned,
  stoppedStatus,
  waitReady,
} from "./component.ts";
import { type ComponentName, type StackConfig, StackError } from "./config.ts";
import { requireJava } from "./java.ts";
import { openSearchHealth } from "./probes.ts";
import { ownedPid, removePid, spawnDetached, writePid } from "./processes.ts";
import { chownTree, searchRunAs } from "./run-as.ts";

export interface Distribution {
  product: "OpenSearch" | "Elasticsearch";
  /** The zip's and the launcher's name: `<id>-<version>.zip`, `bin/<id>`. */
  id: "opensearch" | "elasticsearch";
  /** The launcher's environment variables: where the config is, which Java (every name given), which heap. */
  launcherEnv: { configDir: string; javaHome: string[]; javaOpts: string };
}

export const OPENSEARCH: Distribution = {
  product: "OpenSearch",
  id: "opensearch",
  launcherEnv: {
    configDir: "OPENSEARCH_PATH_CONF",
    javaHome: ["OPENSEARCH_JAVA_HOME"],
    javaOpts: "OPENSEARCH_JAVA_OPTS",
  },
};

export const ELASTICSEARCH: Distribution = {
  product: "Elasticsearch",
  id: "elasticsearch",
  // 8.x reads ES_JAVA_HOME, 7.10 still JAVA_HOME (with a deprecation note).
  launcherEnv: { configDir: "ES_PATH_CONF", javaHome: ["ES_JAVA_HOME", "JAVA_HOME"], javaOpts: "ES_JAVA_OPTS" },
};

function launcherEnv({ launcherEnv: names }: Distribution, javaHome: string, configDir: string, heap: string) {
  return {
    [names.configDir]: configDir,
    ...Object.fromEntries(names.javaHome.map((name) => [name, javaHome])),
    [names.javaOpts]: `-Xms${heap} -Xmx${heap}`,
  };
}

export interface SearchPaths {
  dir: string;
  /** Extracted here rather than in the cache: the cache may sit under /root, which the service user cannot traverse. */
  home: string;
  config: string;
  data: string;
  logs: string;
  out: string;
}

export interface SearchNode {
  distribution: Distribution;
  bundle: BundleName;
  /** The version `status` reports when the node does not say (8.x's integ-test build has no GET /). */
  version: string;
  dir: string;
  pidFile: string;
  port: number;
  portEnv: string;
  heap: string;
  clusterName: string;
  /** The node's settings file (opensearch.yml / elasticsearch.yml). */
  settings(paths: SearchPaths): string;
  /** What `status` says while the node is stopped. */
  idleDetail: string;
}

function searchPaths(node: SearchNode): SearchPaths {
  return {
    dir: node.dir,
    home: join(node.dir, "home"),
    config: join(node.dir, "config"),
    data: join(node.dir, "data"),
    logs: join(node.dir, "logs"),
    out: join(node.dir, "logs", `${node.distribution.id}.out`),
  };
}

function extract(config: StackConfig, node: SearchNode, paths: SearchPaths, log: Log): void {
  const { id } = node.distribution;
  const version = lockedBundle(node.bundle).version;
  const stamp = join(paths.home, ".barito-extracted");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return;
  const zip = join(bundleDir(config, node.bundle), `${id}-${version}.zip`);
  const scratch = join(paths.dir, ".extract");
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`${id}: extracting ${zip}`);
  const unzip = spawnSync("unzip", ["-q", zip, "-d", scratch], { encoding: "utf8" });
  if (unzip.error || unzip.status !== 0) {
    throw new StackError(
      "extract_failed",
      `cannot extract ${zip} (needs unzip): ${unzip.error?.message ?? unzip.stderr.trim()}`,
    );
  }
  rmSync(paths.home, { recursive: true, force: true });
  renameSync(join(scratch, `${id}-${version}`), paths.home);
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(stamp, `${version}\n`);
}

/** The stock config with the node's settings, and the JVM's log and dump files moved into the node's directory. */
function writeConfig(node: SearchNode, paths: SearchPaths): void {
  for (const dir of [paths.config, paths.data, paths.logs]) mkdirSync(dir, { recursive: true });
  for (const entry of ["jvm.options.d", "log4j2.properties"]) {
    cpSync(join(paths.home, "config", entry), join(paths.config, entry), { recursive: true, force: true });
  }
  // The launcher runs from the install dir, so the relative gc/error/heap-dump paths of the stock jvm.options
  // would point into the (read-only for the service user) install; make them ours.
  const jvmOptions = readFileSync(join(paths.home, "config", "jvm.options"), "utf8")
    .replaceAll("file=logs/", `file=${paths.logs}/`)
    .replaceAll("Xloggc:logs/", `Xloggc:${paths.logs}/`)
    .replaceAll("filecount=32,filesize=64m", "filecount=4,filesize=16m")
    .replaceAll("ErrorFile=logs/", `ErrorFile=${paths.logs}/`)
    .replace(/HeapDumpPath=data\b/, `HeapDumpPath=${paths.data}`);
  writeFileSync(join(paths.config, "jvm.options"), jvmOptions);
  writeFileSync(join(paths.config, `${node.distribution.id}.yml`), node.settings(paths));
}

/**
 * One search node as a stack component. `ready` decides when a started node counts as up: a single node once
 * its cluster is not red; a cluster node once it has joined (see cluster.ts).
 */
export function searchComponent(
  name: ComponentName,
  nodeOf: (config: StackConfig) => SearchNode,
  ready: (address: string) => Promise<boolean> = async (address) =>
    (await openSearchHealth(address, 2000)).status !== "red",
): Component {
  return {
    name,
    address: (config) => `http://${config.host}:${nodeOf(config).port}`,
    logFiles: (config) => {
      const node = nodeOf(config);
      const paths = searchPaths(node);
      return [join(paths.logs, `${node.clusterName}.log`), paths.out];
    },
    stateDir: (config) => nodeOf(config).dir,

    async status(config): Promise<ComponentStatus> {
      const node = nodeOf(config);
      const pid = ownedPid(node.pidFile, searchPaths(node).home);
      const base = { name, pid, owned: pid !== undefined, address: this.address(config), version: node.version };
      if (pid === undefined) return stoppedStatus(config, node.port, base, node.idleDetail);
      try {
        const info = await openSearchHealth(this.address(config), 2000);
        const state = info.status === "red" ? "starting" : "running";
        const version = info.version === "unknown" ? base.version : info.version;
        return { ...base, version, state, detail: `cluster health ${info.status}` };
      } catch (error) {
        return { ...base, state: "starting", detail: (error as Error).message };
      }
    },

    async prepare(config, log) {
      const node = nodeOf(config);
      await ensureBundle(config, node.bundle, log);
      mkdirSync(node.dir, { recursive: true });
      extract(config, node, searchPaths(node), log);
    },

    async start(config, log) {
      const node = nodeOf(config);
      const { product, id } = node.distribution;
      const paths = searchPaths(node);
      if (ownedPid(node.pidFile, paths.home) !== undefined) return "already-running";
      removePid(node.pidFile);
      const java = requireJava();
      await ensurePortFree(config, node.port, node.portEnv, `${product} HTTP`);
      await this.prepare(config, log);
      writeConfig(node, paths);
      const version = lockedBundle(node.bundle).version;
      const banner = product === "OpenSearch" ? product : `${product} ${version}`;
      writeFileSync(paths.out, `\n=== ${new Date().toISOString()} starting ${banner} ===\n`, { flag: "a" });

      const runAs = searchRunAs(config, log, product);
      if (runAs) {
        chownSync(paths.dir, runAs.uid, runAs.gid);
        for (const dir of [paths.config, paths.data, paths.logs]) chownTree(dir, runAs.uid, runAs.gid);
      }
      const pid = spawnDetached({
        command: join(paths.home, "bin", id),
        args: [],
        cwd: paths.dir,
        env: { ...process.env, HOME: paths.dir, ...launcherEnv(node.distribution, java.home, paths.config, node.heap) },
        logFile: paths.out,
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      });
      writePid(node.pidFile, pid);
      await waitReady(config, this, pid, () => ready(this.address(config)));
      return "started";
    },

    async stop(config, options) {
      const node = nodeOf(config);
      return (await stopOwned(node.pidFile, searchPaths(node).home, 30_000, options.force)) ?? "not-running";
    },
  };
}

// ---------------------------------------------------------------------------------------------------- the single nodes

const OPENSEARCH_CLUSTER = "barito-stack";

export const opensearch = searchComponent("opensearch", (config) => ({
  distribution: OPENSEARCH,
  bundle: "opensearch",
  version: lockedBundle("opensearch").version,
  dir: join(config.stackDir, "opensearch"),
  pidFile: join(config.stackDir, "opensearch.pid"),
  port: config.opensearchPort,
  portEnv: "STACK_OPENSEARCH_PORT",
  heap: config.opensearchHeap,
  clusterName: OPENSEARCH_CLUSTER,
  idleDetail: "",
  settings: (paths) => `# Generated by scripts/stack on every start (keep in sync with docker-compose.yml).
cluster.name: ${OPENSEARCH_CLUSTER}
node.name: stack-1
network.host: ${config.host}
http.port: ${config.opensearchPort}
discovery.type: single-node
path.data: ${paths.data}
path.logs: ${paths.logs}
# Dev boxes often run with a fairly full disk; the watermarks would turn indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
`,
}));

// Opt-in (not part of `up`): only for the tests that check the consumer against Elasticsearch as well: 8.17.0
// (default distribution minus most modules: no GET /, no GET _data_stream, but data streams are created from
// templates) or, with STACK_ELASTICSEARCH_VERSION=7.10.2, the OSS 7.10.2 (no x-pack: no data streams at all).

const ELASTICSEARCH_CLUSTER = "barito-stack-es";

export const elasticsearch = searchComponent("elasticsearch", (config) => {
  const seven = config.elasticsearchVersion.startsWith("7.");
  // One directory per major version: 7.10 cannot read the data directory 8.x leaves behind.
  const bundle = seven ? "elasticsearch7" : "elasticsearch";
  return {
    distribution: ELASTICSEARCH,
    bundle,
    version: config.elasticsearchVersion,
    dir: join(config.stackDir, bundle),
    pidFile: join(config.stackDir, `${bundle}.pid`),
    port: config.elasticsearchPort,
    portEnv: "STACK_ELASTICSEARCH_PORT",
    heap: config.elasticsearchHeap,
    clusterName: ELASTICSEARCH_CLUSTER,
    idleDetail: "opt-in",
    settings: (paths) => `# Generated by scripts/stack on every start; edit scripts/stack/search.ts instead.
cluster.name: ${ELASTICSEARCH_CLUSTER}
node.name: stack-es-1
network.host: ${config.host}
http.port: ${config.elasticsearchPort}
discovery.type: single-node
path.data: ${paths.data}
path.logs: ${paths.logs}
cluster.routing.allocation.disk.threshold_enabled: false
${seven ? "# OSS build: no security to turn off.\n" : "xpack.security.enabled: false\n"}`,
  };
});
