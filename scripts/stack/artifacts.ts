// Kafka jars and the OpenSearch distribution, fetched once through Maven (which knows Maven Central and honours
// the user's mirrors/proxies), checked against the sha256s pinned in stack.lock.json, and kept in the cache dir.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StackConfig, StackError } from "./config.ts";

export const LOCK_FILE = join(dirname(fileURLToPath(import.meta.url)), "stack.lock.json");
const SOURCE = "Maven Central (via mvn)";
// Pinned so the fetch behaves the same whatever plugin version the local Maven would pick by default.
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

export interface LockedArtifact {
  /** groupId:artifactId:version:type, the form `mvn dependency:get -Dartifact=` takes. */
  coordinates: string;
  file: string;
  size: number;
  sha256: string;
}

export interface LockedBundle {
  version: string;
  /** What the artifact list was resolved from (runtime scope, transitive), for `relock`. */
  roots: string[];
  artifacts: LockedArtifact[];
}

export interface StackLock {
  source: string;
  bundles: Record<string, LockedBundle>;
}

export type BundleName = "kafka" | "opensearch" | "elasticsearch" | "elasticsearch7";

/** What `relock` resolves; the lock file is the source of truth for everything else. */
const BUNDLE_ROOTS: Record<BundleName, { version: string; roots: string[] }> = {
  kafka: {
    version: "4.1.1",
    roots: [
      "org.apache.kafka:kafka_2.13:4.1.1:jar",
      "org.slf4j:slf4j-api:2.0.17:jar",
      "org.apache.logging.log4j:log4j-slf4j2-impl:2.24.3:jar",
      "org.apache.logging.log4j:log4j-core:2.24.3:jar",
    ],
  },
  opensearch: {
    version: "2.19.4",
    roots: ["org.opensearch.distribution.integ-test-zip:opensearch:2.19.4:zip"],
  },
  // Opt-in (`stack start elasticsearch`); STACK_ELASTICSEARCH_VERSION=7.10.2 picks the second one.
  elasticsearch: {
    version: "8.17.0",
    roots: ["org.elasticsearch.distribution.integ-test-zip:elasticsearch:8.17.0:zip"],
  },
  elasticsearch7: {
    version: "7.10.2",
    roots: ["org.elasticsearch.distribution.integ-test-zip:elasticsearch:7.10.2:zip"],
  },
};

export function readLock(): StackLock {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(LOCK_FILE, "utf8"));
  } catch (error) {
    throw new StackError("lock_unreadable", `cannot read ${LOCK_FILE}: ${(error as Error).message}`);
  }
  const lock = parsed as StackLock;
  if (!lock || typeof lock !== "object" || typeof lock.bundles !== "object") {
    throw new StackError("lock_invalid", `${LOCK_FILE} has no "bundles" object`);
  }
  return lock;
}

export function lockedBundle(name: BundleName): LockedBundle {
  const bundle = readLock().bundles[name];
  if (!bundle || !Array.isArray(bundle.artifacts) || bundle.artifacts.length === 0) {
    throw new StackError(
      "lock_invalid",
      `${LOCK_FILE} has no artifacts for "${name}" (run: node scripts/stack/stack.ts relock)`,
    );
  }
  return bundle;
}

interface Coordinates {
  groupId: string;
  artifactId: string;
  version: string;
  type: string;
}

function parseCoordinates(coordinates: string): Coordinates {
  const [groupId, artifactId, version, type = "jar"] = coordinates.split(":");
  if (!groupId || !artifactId || !version)
    throw new StackError("lock_invalid", `bad coordinates "${coordinates}" in ${LOCK_FILE}`);
  return { groupId, artifactId, version, type };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

export function bundleDir(config: StackConfig, name: BundleName): string {
  return join(config.cacheDir, `${name}-${lockedBundle(name).version}`);
}

const STAMP = ".verified.json";

interface Stamp {
  files: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

/** Cheap re-check of an already verified bundle: every locked file present with the size/mtime it had when hashed. */
function isBundleCached(dir: string, bundle: LockedBundle): boolean {
  const stampPath = join(dir, STAMP);
  if (!existsSync(stampPath)) return false;
  let stamp: Stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath, "utf8")) as Stamp;
  } catch {
    return false;
  }
  return bundle.artifacts.every((artifact) => {
    const recorded = stamp.files[artifact.file];
    if (!recorded || recorded.sha256 !== artifact.sha256) return false;
    try {
      const stat = statSync(join(dir, artifact.file));
      return stat.size === recorded.size && stat.mtimeMs === recorded.mtimeMs;
    } catch {
      return false;
    }
  });
}

function mavenRepoLocal(config: StackConfig): string {
  return config.mavenRepoLocal ?? join(homedir(), ".m2", "repository");
}

function mavenArgs(config: StackConfig): string[] {
  const args = ["-B", "--no-transfer-progress"];
  if (config.mavenRepoLocal) args.push(`-Dmaven.repo.local=${config.mavenRepoLocal}`);
  return args;
}

function requireMaven(): void {
  const probe = spawnSync("mvn", ["-v"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new StackError(
      "maven_missing",
      "Maven (mvn) is needed to fetch Kafka and OpenSearch from Maven Central once; install it (apt-get install maven) or fill the cache dir from another machine",
    );
  }
}

function pomFor(bundle: LockedBundle): string {
  const dependencies = bundle.artifacts
    .map((artifact) => {
      const c = parseCoordinates(artifact.coordinates);
      return `    <dependency><groupId>${c.groupId}</groupId><artifactId>${c.artifactId}</artifactId><version>${c.version}</version><type>${c.type}</type>
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions></dependency>`;
    })
    .join("\n");
  // Every locked file is listed explicitly with transitive resolution off, so Maven cannot drift from the lock.
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.barito-flow</groupId><artifactId>stack-fetch</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>
${dependencies}
  </dependencies>
</project>
`;
}

function formatMb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** Bytes of an artifact on disk so far: the finished file in the local repo, or Maven's partial download beside it. */
function bytesSoFar(repo: string, artifact: LockedArtifact, outDir: string): { bytes: number; done: boolean } {
  const c = parseCoordinates(artifact.coordinates);
  if (existsSync(join(outDir, artifact.file))) return { bytes: artifact.size, done: true };
  const dir = join(repo, ...c.groupId.split("."), c.artifactId, c.version);
  let largest = 0;
  try {
    for (const entry of readdirSync(dir)) {
      if (entry.endsWith(".pom") || entry.endsWith(".sha1") || entry.endsWith(".repositories")) continue;
      const size = statSync(join(dir, entry)).size;
      if (entry === artifact.file && size === artifact.size) return { bytes: size, done: true };
      largest = Math.max(largest, size);
    }
  } catch {
    // directory not created yet: nothing downloaded
  }
  return { bytes: Math.min(largest, artifact.size), done: false };
}

function runMaven(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("mvn", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => resolve({ code: -1, output: `${output}\n${error.message}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

function failedArtifacts(bundle: LockedBundle, mavenOutput: string): string[] {
  const named = bundle.artifacts.filter((artifact) => {
    const c = parseCoordinates(artifact.coordinates);
    return mavenOutput.includes(`${c.groupId}:${c.artifactId}`) && /could not|failed|error/i.test(mavenOutput);
  });
  return named.map((a) => a.coordinates);
}

/**
 * Makes sure every locked file of the bundle is in the cache, verified; returns the directory holding them.
 * Progress goes to `log`, one line per finished artifact plus byte counts for large ones.
 */
export async function ensureBundle(
  config: StackConfig,
  name: BundleName,
  log: (line: string) => void,
): Promise<string> {
  const bundle = lockedBundle(name);
  const dir = bundleDir(config, name);
  if (isBundleCached(dir, bundle)) return dir;

  requireMaven();
  const total = bundle.artifacts.reduce((sum, a) => sum + a.size, 0);
  log(
    `${name} ${bundle.version}: fetching ${bundle.artifacts.length} artifact(s), ${formatMb(total)}, from ${SOURCE} into ${dir}`,
  );
  const work = join(config.cacheDir, `.fetch-${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const outDir = join(work, "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(work, "pom.xml"), pomFor(bundle));

  const repo = mavenRepoLocal(config);
  const reported = new Set<string>();
  const lastBig = new Map<string, number>();
  let lastBigAt = 0;
  const tick = (): void => {
    const now = Date.now();
    for (const artifact of bundle.artifacts) {
      if (reported.has(artifact.file)) continue;
      const { bytes, done } = bytesSoFar(repo, artifact, outDir);
      if (done) {
        reported.add(artifact.file);
        log(`  [${reported.size}/${bundle.artifacts.length}] ${artifact.file} ${formatMb(artifact.size)} (100%)`);
      } else if (
        bytes > 0 &&
        artifact.size > 4 * 1048576 &&
        now - lastBigAt >= 2000 &&
        bytes !== lastBig.get(artifact.file)
      ) {
        lastBig.set(artifact.file, bytes);
        lastBigAt = now;
        log(
          `      ${artifact.file} ${formatMb(bytes)} of ${formatMb(artifact.size)} (${Math.floor((bytes / artifact.size) * 100)}%)`,
        );
      }
    }
  };
  const timer = setInterval(tick, 500);
  const result = await runMaven(
    [
      ...mavenArgs(config),
      "-f",
      join(work, "pom.xml"),
      `${DEPENDENCY_PLUGIN}:copy-dependencies`,
      `-DoutputDirectory=${outDir}`,
      "-DexcludeTransitive=true",
    ],
    work,
  );
  clearInterval(timer);
  if (result.code !== 0) {
    // Maven's useful lines name the artifact or the network problem; the rest is boilerplate ("Re-run ...").
    const tail = result.output
      .split("\n")
      .filter((line) => /Could not|Failed to|not found|Connect|timed out|Unknown host/i.test(line))
      .slice(-4)
      .join("\n");
    const which = failedArtifacts(bundle, result.output);
    rmSync(work, { recursive: true, force: true });
    throw new StackError(
      "download_failed",
      `download of ${which.length > 0 && which.length < 6 ? which.join(", ") : `the ${name} ${bundle.version} artifacts`} from ${SOURCE} failed (mvn exit ${result.code}):\n${tail || result.output.slice(-2000)}`,
    );
  }
  tick();

  const stamp: Stamp = { files: {} };
  for (const artifact of bundle.artifacts) {
    const file = join(outDir, artifact.file);
    if (!existsSync(file)) {
      rmSync(work, { recursive: true, force: true });
      throw new StackError(
        "download_failed",
        `${artifact.coordinates} was not delivered by mvn from ${SOURCE} (expected ${artifact.file})`,
      );
    }
    const sha256 = await sha256File(file);
    if (sha256 !== artifact.sha256) {
      rmSync(work, { recursive: true, force: true });
      throw new StackError(
        "checksum_mismatch",
        `${artifact.coordinates} from ${SOURCE} has sha256 ${sha256}, but ${LOCK_FILE} pins ${artifact.sha256}; refusing to use it`,
      );
    }
    const stat = statSync(file);
    stamp.files[artifact.file] = { size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
  }
  writeFileSync(join(outDir, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(outDir, dir);
  rmSync(work, { recursive: true, force: true });
  log(`${name} ${bundle.version}: ${bundle.artifacts.length} artifact(s) verified against ${LOCK_FILE}`);
  return dir;
}

/** Re-resolves the bundle roots with Maven and rewrites stack.lock.json with the files' sizes and sha256s. */
export async function relock(config: StackConfig, log: (line: string) => void): Promise<void> {
  requireMaven();
  const lock: StackLock = { source: SOURCE, bundles: {} };
  for (const [name, spec] of Object.entries(BUNDLE_ROOTS)) {
    const work = join(config.cacheDir, `.relock-${name}-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const roots = spec.roots.map(parseCoordinates);
    writeFileSync(
      join(work, "pom.xml"),
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.barito-flow</groupId><artifactId>stack-relock</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>${roots.map((c) => `<dependency><groupId>${c.groupId}</groupId><artifactId>${c.artifactId}</artifactId><version>${c.version}</version><type>${c.type}</type></dependency>`).join("")}</dependencies>
</project>\n`,
    );
    const listFile = join(work, "list.txt");
    log(`${name}: resolving ${spec.roots.join(", ")}`);
    const result = await runMaven(
      [
        ...mavenArgs(config),
        "-f",
        join(work, "pom.xml"),
        `${DEPENDENCY_PLUGIN}:list`,
        "-DincludeScope=runtime",
        `-DoutputFile=${listFile}`,
        "-DoutputAbsoluteArtifactFilename=true",
      ],
      work,
    );
    if (result.code !== 0)
      throw new StackError(
        "download_failed",
        `resolving ${name} from ${SOURCE} failed:\n${result.output.slice(-2000)}`,
      );
    const artifacts: LockedArtifact[] = [];
    for (const line of readFileSync(listFile, "utf8").split("\n")) {
      // groupId:artifactId:type[:classifier]:version:scope:/absolute/path
      // 3.x appends " -- module name (auto)" to each line.
      const parts = (line.split(" -- ")[0] ?? "").trim().split(":");
      if (parts.length < 6 || !parts.at(-1)?.startsWith("/")) continue;
      const path = parts.at(-1) as string;
      const [groupId, artifactId, type] = parts;
      const version = parts.at(-3);
      if (parts.length > 6)
        throw new StackError("relock_unsupported", `classifier artifacts are not supported: ${line.trim()}`);
      artifacts.push({
        coordinates: `${groupId}:${artifactId}:${version}:${type}`,
        file: path.split("/").at(-1) as string,
        size: statSync(path).size,
        sha256: await sha256File(path),
      });
    }
    artifacts.sort((a, b) => a.coordinates.localeCompare(b.coordinates));
    lock.bundles[name] = { version: spec.version, roots: spec.roots, artifacts };
    log(`${name}: ${artifacts.length} artifact(s) locked`);
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(LOCK_FILE, `${JSON.stringify(lock, null, 2)}\n`);
  log(`wrote ${LOCK_FILE}`);
}
