// The JVM that runs Kafka and OpenSearch: JAVA_HOME if set, else `java` on PATH; both need 17 or newer.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { StackError } from "./config.ts";

export interface JavaRuntime {
  /** Absolute path of the java binary. */
  binary: string;
  /** JAVA_HOME-style directory (binary is home/bin/java). */
  home: string;
  major: number;
  version: string;
}

const MINIMUM_MAJOR = 17;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

let cached: JavaRuntime | undefined;

export function requireJava(): JavaRuntime {
  if (cached) return cached;
  const fromHome = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : undefined;
  const candidate = fromHome && existsSync(fromHome) ? fromHome : findOnPath("java");
  if (!candidate) {
    throw new StackError(
      "java_missing",
      `Java ${MINIMUM_MAJOR}+ is needed to run Kafka and OpenSearch, but no java was found (JAVA_HOME unset or invalid, none on PATH); install one, e.g. apt-get install openjdk-17-jre-headless`,
    );
  }
  const binary = realpathSync(candidate);
  const probe = spawnSync(binary, ["-version"], { encoding: "utf8" });
  const text = `${probe.stderr ?? ""}${probe.stdout ?? ""}`;
  const match = /version "([^"]+)"/.exec(text);
  if (probe.status !== 0 || !match?.[1]) {
    throw new StackError(
      "java_broken",
      `${binary} -version failed: ${text.trim().split("\n")[0] ?? probe.error?.message ?? "no output"}`,
    );
  }
  const version = match[1];
  const parts = version.split(/[._-]/).map(Number);
  const major = parts[0] === 1 ? (parts[1] ?? 0) : (parts[0] ?? 0);
  if (major < MINIMUM_MAJOR) {
    throw new StackError(
      "java_too_old",
      `Java ${MINIMUM_MAJOR}+ is needed (Kafka 4 and OpenSearch 2.19), but ${binary} is ${version}; set JAVA_HOME to a newer JDK/JRE`,
    );
  }
  cached = { binary, home: dirname(dirname(binary)), major, version };
  return cached;
}
