// The apps run as their pods would: the rendered base's environment (ConfigMaps and literal env, NODE_OPTIONS
// included), the manifest's ports, probed the way the kubelet would, then stopped with SIGTERM. Each app runs in a
// network namespace of its own (unshare, as root), so the manifest's real ports are free and nothing is reachable:
// Kafka and OpenSearch are down, as in a cluster where they are not up yet.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { type AppSpec, consumer, podEnvironment, producer } from "./check/app-config";
import { deployDir, type K8sObject, kustomizeBuild, repoRoot } from "./check/render";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain JSON
type Json = any;

interface Report {
  startupMs?: number;
  probes: Record<string, { status: number; body: string }>;
  ports: Record<string, boolean>;
  stop?: { code?: number | null; signal?: string | null; ms?: number; timedOut?: boolean; exitedEarly?: unknown };
  stderr: string;
}

let base: K8sObject[] = [];
beforeAll(() => {
  base = kustomizeBuild(join(deployDir, "base"));
});

interface Run {
  report: Report;
  stopWithinMs: number;
}

// Root makes a network namespace directly; anyone else through a user namespace of their own, where allowed.
const namespaceFlags = process.getuid?.() === 0 ? ["--net"] : ["--user", "--map-root-user", "--net"];

async function runPod(spec: AppSpec): Promise<Run> {
  const { env, container, pod } = podEnvironment(base, spec);
  const main = join(repoRoot, "apps", spec.app, "dist", "main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: run pnpm turbo run build`);
  const portOf = (port: string | number) =>
    typeof port === "number" ? port : container.ports.find((p: Json) => p.name === port)?.containerPort;
  const httpGets = ["startupProbe", "livenessProbe", "readinessProbe"].map((name) => ({
    name,
    path: container[name].httpGet.path,
    port: portOf(container[name].httpGet.port),
  }));
  const annotations = pod.metadata.annotations;
  httpGets.push({
    name: "scrape",
    path: annotations["prometheus.io/path"],
    port: Number(annotations["prometheus.io/port"]),
  });
  const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  // What the kubelet leaves the process after the preStop delay before it sends SIGKILL.
  const stopWithinMs = (pod.spec.terminationGracePeriodSeconds - preStop) * 1_000;
  const input = {
    // `barito-flow` in the image is this main.js; the rest of the manifest's command line as it is.
    command: [process.execPath, main, ...container.command.slice(1)],
    env: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    httpGets,
    tcpPorts: container.ports.map((p: Json) => p.containerPort),
    startup: container.startupProbe,
    stopWithinMs,
  };
  const runner = join(__dirname, "check", "pod-runner.mjs");
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      "unshare",
      [...namespaceFlags, "sh", "-c", 'ip link set lo up && exec "$@"', "sh", process.execPath, runner],
      { encoding: "utf8", timeout: 150_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${spec.app} pod run failed: ${stderr || err}`)) : resolve(stdout),
    );
    child.stdin?.end(JSON.stringify(input));
  });
  return { report: JSON.parse(output) as Report, stopWithinMs };
}

// Both apps at once, each in its own namespace: the producer's stop alone takes most of its shutdown timeout.
const runs: Partial<Record<AppSpec["app"], Run>> = {};
beforeAll(async () => {
  const [producerRun, consumerRun] = await Promise.all([runPod(producer), runPod(consumer)]);
  runs.producer = producerRun;
  runs.consumer = consumerRun;
}, 160_000);

describe.each([producer, consumer])("the $app as its pod runs it", (spec) => {
  let run: Run;
  beforeAll(() => {
    run = runs[spec.app] as Run;
  });

  it("passes its startup and liveness probes on the metrics port", () => {
    expect(run.report.stderr).not.toMatch(/Invalid configuration|NODE_OPTIONS/);
    expect(run.report.startupMs).toBeDefined();
    expect(run.report.probes.startupProbe?.status).toBe(200);
    expect(run.report.probes.livenessProbe?.status).toBe(200);
  });

  it("stays unready while its dependencies are unreachable", () => {
    expect(run.report.probes.readinessProbe?.status).toBe(503);
  });

  it("serves metrics where the scrape annotations point", () => {
    expect(run.report.probes.scrape?.status).toBe(200);
    expect(run.report.probes.scrape?.body).toMatch(/^# (HELP|TYPE) /);
  });

  it("listens on every port the manifest declares", () => {
    const ports = (base as Json[])
      .find((o) => o.kind === "Deployment" && o.metadata.name === spec.deployment)
      .spec.template.spec.containers[0].ports.map((p: Json) => String(p.containerPort));
    expect(Object.keys(run.report.ports).sort()).toEqual(ports.sort());
    expect(Object.values(run.report.ports).every(Boolean)).toBe(true);
  });

  it("exits on SIGTERM within the grace period left after the preStop delay", () => {
    expect(run.report.stop?.timedOut).toBeUndefined();
    expect(run.report.stop?.exitedEarly).toBeUndefined();
    expect(run.report.stop?.ms).toBeLessThan(run.stopWithinMs);
  });
});
