// Checks rendered manifests against the apps themselves: variable names and values through the real config schemas
// (apps/*/src/config.ts), ports and probe paths against the configured listeners and their routes, shutdown timing
// against main.ts's watchdog, plus the budgets and the security settings this deployment promises.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { consumerEnvShape, loadConsumerConfig } from "../../apps/consumer/src/config";
import { loadProducerConfig, producerEnvShape } from "../../apps/producer/src/config";
import { ConfigError } from "../../packages/config/src/index";
import { healthPaths } from "../../packages/lifecycle/src/index";
import { describeObject, findObject, type K8sObject, repoRoot } from "./render";

type Env = Record<string, string>;

export interface AppSpec {
  app: "producer" | "consumer";
  deployment: string;
  container: string;
  variables: readonly string[];
  /**
   * Loads the app's configuration (throws ConfigError) and returns the ports its listeners use, and which of them
   * speak TLS. The TLS files themselves are not read here (they are in the pod's Secrets): their mounts are checked.
   */
  listen(env: Env): { ports: Record<string, number>; tls: Set<string>; shutdownTimeoutMs: number };
  /** Routes served on the metrics/health port. */
  metricsRoutes(env: Env): Set<string>;
  memory: string;
}

/**
 * The listeners' TLS files are in the pod's Secrets, not on this machine: the app checks them when it starts, this
 * check that they are mounted (`filePathVariable`). The rest of the configuration is loaded without them.
 */
const listenerTlsFile = /^BARITO_(PRODUCER|EXPORTER)_TLS_(CERT|KEY|CLIENT_CA)$/;
const withoutTlsFiles = (env: Env): Env =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !listenerTlsFile.test(name)));
const isSet = (env: Env, name: string) => (env[name] ?? "").trim() !== "";

/** Variables a pod may set that are not the app's own. */
const runtimeVariables = new Set(["NODE_OPTIONS"]);

const source = (path: string) => readFileSync(join(repoRoot, path), "utf8");

/**
 * Paths registered with `<router>.get("/path"` in an app's source, plus the health paths when the source hands the
 * router to `addHealthRoutes` (the producer's helper over @barito-flow/lifecycle's `healthAnswer`).
 */
function routes(path: string, router: string): Set<string> {
  const text = source(path);
  const found = new Set<string>();
  for (const match of text.matchAll(new RegExp(`\\b${router}\\.get\\("(/[^"]*)"`, "g"))) found.add(match[1] as string);
  if (new RegExp(`\\baddHealthRoutes\\(${router}\\b`).test(text)) for (const path of healthPaths) found.add(path);
  return found;
}

export const producer: AppSpec = {
  app: "producer",
  deployment: "barito-flow-producer",
  container: "producer",
  variables: Object.keys(producerEnvShape),
  listen(env) {
    const config = loadProducerConfig(withoutTlsFiles(env));
    const ports: Record<string, number> = {
      grpc: config.producer.grpcAddress.port,
      metrics: config.metrics.address.port,
    };
    if (config.producer.restEnabled) ports.http = config.producer.restAddress.port;
    const tls = new Set([
      ...(isSet(env, "BARITO_PRODUCER_TLS_CERT") ? ["http", "grpc"] : []),
      ...(isSet(env, "BARITO_EXPORTER_TLS_CERT") ? ["metrics"] : []),
    ]);
    return { ports, tls, shutdownTimeoutMs: config.shutdownTimeoutMs };
  },
  metricsRoutes(env) {
    // With several workers the cluster primary answers on the metrics port instead.
    if (loadProducerConfig(withoutTlsFiles(env)).producer.workers === 1)
      return routes("apps/producer/src/app-handlers.ts", "metricsApp");
    const primary = source("apps/producer/src/cluster-primary.ts");
    const served = new Set([...primary.matchAll(/path === "(\/[^"]*)"/g)].map((match) => match[1] as string));
    if (/\bisHealthPath\(path\)/.test(primary)) for (const path of healthPaths) served.add(path);
    return served;
  },
  memory: "256Mi",
};

export const consumer: AppSpec = {
  app: "consumer",
  deployment: "barito-flow-consumer",
  container: "consumer",
  variables: Object.keys(consumerEnvShape),
  listen(env) {
    const config = loadConsumerConfig(withoutTlsFiles(env));
    return {
      ports: { metrics: config.metrics.address.port },
      tls: new Set(isSet(env, "BARITO_EXPORTER_TLS_CERT") ? ["metrics"] : []),
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    };
  },
  metricsRoutes: () => routes("apps/consumer/src/app.ts", "http"),
  memory: "512Mi",
};

/**
 * How long after BARITO_SHUTDOWN_TIMEOUT the app's watchdog ends the process, in ms: the largest of the values found
 * in its main.ts (`shutdownTimeoutMs + N`, `watchdogGraceMs: N`) and the shared lifecycle package's default
 * (`watchdogGraceMs ?? N`), whichever exist.
 */
export function watchdogExtraMs(app: AppSpec["app"]): number {
  const files = [`apps/${app}/src/main.ts`, "packages/lifecycle/src/shutdown.ts"].filter((path) =>
    existsSync(join(repoRoot, path)),
  );
  const patterns = [/shutdownTimeoutMs\s*\+\s*([\d_]+)/g, /watchdogGraceMs\s*(?::|\?\?)\s*([\d_]+)/g];
  const values = files.flatMap((path) =>
    patterns.flatMap((pattern) =>
      [...source(path).matchAll(pattern)].map((m) => Number((m[1] as string).replaceAll("_", ""))),
    ),
  );
  if (values.length === 0) {
    throw new Error(
      `no shutdown watchdog found for the ${app} in ${files.join(", ")}: update deploy/check/app-config.ts`,
    );
  }
  return Math.max(...values);
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON here; the schema checks type them.
type Json = any;

interface EnvSource {
  from: string;
  secret: boolean;
  values: Env;
}

/** What the container's environment would be, source by source (envFrom in order, then env). */
function containerEnv(objects: readonly K8sObject[], container: Json, problems: string[]): EnvSource[] {
  const sources: EnvSource[] = [];
  for (const entry of container.envFrom ?? []) {
    const ref = entry.configMapRef ?? entry.secretRef;
    const kind = entry.configMapRef ? "ConfigMap" : "Secret";
    const object = findObject(objects, kind, ref?.name) as Json;
    if (!object) {
      if (!ref?.optional) problems.push(`envFrom ${kind}/${ref?.name} does not exist and is not optional`);
      continue;
    }
    const values: Env = { ...(object.stringData ?? {}) };
    for (const [key, value] of Object.entries<string>(object.data ?? {})) {
      values[key] = kind === "Secret" && !object.stringData?.[key] ? Buffer.from(value, "base64").toString() : value;
    }
    sources.push({ from: `${kind}/${ref.name}`, secret: kind === "Secret", values });
  }
  const literal: Env = {};
  for (const variable of container.env ?? []) {
    // A value from the downward API or a key reference is unknown here: a placeholder stands for it.
    literal[variable.name] = variable.value ?? (variable.valueFrom ? `from-${Object.keys(variable.valueFrom)[0]}` : "");
    if (variable.valueFrom?.secretKeyRef)
      sources.push({ from: "env (secretKeyRef)", secret: true, values: { [variable.name]: "" } });
  }
  sources.push({ from: "env", secret: false, values: literal });
  return sources;
}

/** The environment the app's container gets from these objects (Secrets that are absent are skipped). */
/** NODE_OPTIONS as the image sets it (Dockerfile `ENV NODE_OPTIONS="..."`): the one place the V8 heap is sized. */
export function imageNodeOptions(): string {
  return /^ENV NODE_OPTIONS="([^"]*)"/m.exec(source("Dockerfile"))?.[1] ?? "";
}

/** The container's environment as the pod gets it: the image's NODE_OPTIONS, then the manifest's variables. */
export function podEnvironment(objects: readonly K8sObject[], spec: AppSpec): { env: Env; container: Json; pod: Json } {
  const deployment = findObject(objects, "Deployment", spec.deployment) as Json;
  const pod = deployment?.spec?.template;
  const container = pod?.spec?.containers?.find((c: Json) => c.name === spec.container);
  if (!container) throw new Error(`Deployment/${spec.deployment} has no container "${spec.container}"`);
  const problems: string[] = [];
  const env: Env = Object.assign(
    { NODE_OPTIONS: imageNodeOptions() },
    ...containerEnv(objects, container, problems).map((source) => source.values),
  );
  if (problems.length > 0) throw new Error(problems.join("; "));
  return { env, container, pod };
}

function resolvePort(container: Json, port: unknown): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((p: Json) => p.name === port)?.containerPort;
}

function preStopSeconds(container: Json): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return Number(preStop.sleep.seconds);
  const command: string[] = preStop?.exec?.command ?? [];
  const sleep = command.indexOf("sleep");
  return sleep >= 0 ? Number(command[sleep + 1]) : 0;
}

/** Values that name files: their directory must be mounted. */
const filePathVariable = /(_CERT|_KEY|_CA|_FILE)$/;

/** The READMEs whose variable tables document the apps' variables: the shared ones, then each app's own. */
const variableTables = ["packages/config/README.md", "apps/producer/README.md", "apps/consumer/README.md"];

/**
 * The variables the variable tables mark as secret (they are what operators read; the config redaction works on
 * config fields, where `clientKeyPath` and `marketClientKey` differ, not on the variable names, where
 * BARITO_KAFKA_TLS_CLIENT_KEY and MARKET_REDACT_CLIENT_KEY look alike).
 */
export function documentedSecrets(): Set<string> {
  const names = new Set<string>();
  for (const readme of variableTables) {
    // Cells may be padded (a formatter aligns the columns).
    for (const match of source(readme).matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|[^|\n]*\|([^|\n]*)\|/gm)) {
      if (/\bsecret\b/.test(match[2] as string)) names.add(match[1] as string);
    }
  }
  return names;
}

/** Every disagreement between the app's Deployment (and what points at it) and the app itself. */
export function appProblems(objects: readonly K8sObject[], spec: AppSpec): string[] {
  const problems: string[] = [];
  const deployment = findObject(objects, "Deployment", spec.deployment) as Json;
  if (!deployment) return [`Deployment/${spec.deployment} is missing`];
  const pod = deployment.spec?.template ?? {};
  const podSpec = pod.spec ?? {};
  const container = podSpec.containers?.find((c: Json) => c.name === spec.container);
  if (!container) return [`Deployment/${spec.deployment} has no container "${spec.container}"`];
  const say = (problem: string) => problems.push(`${spec.app}: ${problem}`);

  // The command line of the image: `barito-flow <app>` as arguments of its entry point (tini), which a `command`
  // would replace: Node would be PID 1, whose signals to itself the kernel ignores.
  if (JSON.stringify(container.args) !== JSON.stringify(["barito-flow", spec.app]) || container.command !== undefined) {
    say(
      `the command is ${JSON.stringify([...(container.command ?? []), ...(container.args ?? [])])}, expected ["barito-flow","${spec.app}"]`,
    );
  }

  // Variables: known names, secrets only from Secrets, valid values (the app's own loader decides).
  const sources = containerEnv(objects, container, problems);
  const env: Env = {};
  const known = new Set(spec.variables);
  const secrets = documentedSecrets();
  for (const { from, secret, values } of sources) {
    for (const [name, value] of Object.entries(values)) {
      if (!known.has(name) && !runtimeVariables.has(name))
        say(`${from} sets ${name}, which is not a ${spec.app} variable`);
      if (secrets.has(name) && !secret && value !== "") say(`${from} holds the secret ${name}: move it to a Secret`);
      env[name] = value;
    }
  }
  let listening: ReturnType<AppSpec["listen"]>;
  try {
    listening = spec.listen(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) say(`the ${spec.app} refuses ${issue.variable}: ${issue.message}`);
    return problems;
  }

  // Ports: exactly the listeners, by name.
  const declared: Record<string, number> = {};
  for (const port of container.ports ?? []) declared[port.name] = port.containerPort;
  for (const [name, port] of Object.entries(listening.ports)) {
    if (declared[name] !== port)
      say(`container port "${name}" is ${declared[name] ?? "missing"}, the ${spec.app} listens on ${port}`);
  }
  for (const name of Object.keys(declared)) {
    if (!(name in listening.ports)) say(`container port "${name}" matches no listener of the ${spec.app}`);
  }

  // Probes and scraping: on the metrics port, at paths its listener serves.
  const metricsPort = listening.ports.metrics;
  const served = spec.metricsRoutes(env);
  const probes: Array<[string, string]> = [
    ["livenessProbe", "/healthz"],
    ["readinessProbe", "/readyz"],
    ["startupProbe", "/healthz"],
  ];
  for (const [probe, path] of probes) {
    const get = container[probe]?.httpGet;
    if (!get) {
      if (probe !== "startupProbe") say(`${probe} is missing`);
      continue;
    }
    if (get.path !== path) say(`${probe} checks ${get.path}, expected ${path}`);
    if (!served.has(get.path)) say(`${probe} path ${get.path} is not served on the metrics port`);
    if (resolvePort(container, get.port) !== metricsPort)
      say(`${probe} port ${get.port} is not the metrics port ${metricsPort}`);
    const scheme = listening.tls.has("metrics") ? "HTTPS" : "HTTP";
    if ((get.scheme ?? "HTTP") !== scheme)
      say(`${probe} uses ${get.scheme ?? "HTTP"}, the metrics port speaks ${scheme}`);
  }
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true") say('prometheus.io/scrape is not "true"');
  if (annotations["prometheus.io/port"] !== String(metricsPort)) say(`prometheus.io/port is not ${metricsPort}`);
  const scrapeScheme = listening.tls.has("metrics") ? "https" : "http";
  if ((annotations["prometheus.io/scheme"] ?? "http") !== scrapeScheme)
    say(`prometheus.io/scheme is not ${scrapeScheme}`);
  if (!served.has(annotations["prometheus.io/path"]) || annotations["prometheus.io/path"] !== "/metrics") {
    say(`prometheus.io/path ${annotations["prometheus.io/path"]} is not the served /metrics`);
  }

  // Shutdown: the grace period covers the preStop delay, the app's timeout and its watchdog.
  const preStop = preStopSeconds(container);
  const needed = preStop + (listening.shutdownTimeoutMs + watchdogExtraMs(spec.app)) / 1000;
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  if (!(grace > needed))
    say(
      `terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + shutdown and watchdog = ${needed} s`,
    );
  const services = objects.filter((o: Json) => o.kind === "Service" && selects(o.spec?.selector, pod.metadata?.labels));
  if (services.length > 0 && !(preStop > 0))
    say(`${services.map(describeObject).join(", ")} routes to it, but there is no preStop delay`);

  // Memory: request = limit = budget, the heap sized from it in one place.
  const resources = container.resources ?? {};
  if (resources.requests?.memory !== spec.memory || resources.limits?.memory !== spec.memory) {
    say(
      `memory request/limit ${resources.requests?.memory}/${resources.limits?.memory}, the budget is ${spec.memory} for both`,
    );
  }
  if (!resources.requests?.cpu) say("no CPU request");
  // The image sizes V8's heap from the limit; a pod that sets NODE_OPTIONS replaces that.
  const percentage = Number(/--max-old-space-size-percentage=(\d+)/.exec(imageNodeOptions())?.[1]);
  if (!(percentage > 0 && percentage < 100))
    say("the image's NODE_OPTIONS does not size the heap with --max-old-space-size-percentage");
  if ((container.env ?? []).some((v: Json) => v.name === "NODE_OPTIONS"))
    say("NODE_OPTIONS is set in the pod, replacing the image's heap sizing");

  // Security.
  const podSecurity = podSpec.securityContext ?? {};
  const security = container.securityContext ?? {};
  if (podSecurity.runAsNonRoot !== true || podSecurity.runAsUser !== 1000) say("the pod must run as non-root uid 1000");
  if (podSecurity.seccompProfile?.type !== "RuntimeDefault") say("seccompProfile is not RuntimeDefault");
  if (security.allowPrivilegeEscalation !== false) say("allowPrivilegeEscalation is not false");
  if (security.readOnlyRootFilesystem !== true) say("the root filesystem is not read-only");
  if (!security.capabilities?.drop?.includes("ALL")) say("capabilities are not dropped (ALL)");
  const mounts: Json[] = container.volumeMounts ?? [];
  const tmp = mounts.find((m) => m.mountPath === "/tmp");
  if (!tmp || !podSpec.volumes?.find((v: Json) => v.name === tmp.name)?.emptyDir) say("/tmp is not an emptyDir");

  // Files named by variables live in mounted volumes.
  for (const [name, value] of Object.entries(env)) {
    if (!filePathVariable.test(name) || !value.startsWith("/")) continue;
    if (!mounts.some((m) => value.startsWith(`${m.mountPath.replace(/\/$/, "")}/`)))
      say(`${name}=${value} is in no mounted volume`);
  }

  // What points at the pods.
  const podLabels = pod.metadata?.labels ?? {};
  if (!selects(deployment.spec?.selector?.matchLabels, podLabels))
    say("the Deployment's selector does not match its pods");
  if (
    !objects.some((o: Json) => o.kind === "PodDisruptionBudget" && selects(o.spec?.selector?.matchLabels, podLabels))
  ) {
    say("no PodDisruptionBudget selects its pods");
  }
  for (const service of services as Json[]) {
    for (const port of service.spec?.ports ?? []) {
      const where = `${describeObject(service)} port ${port.name}`;
      const target = resolvePort(container, port.targetPort ?? port.port);
      if (target === undefined) say(`${where} targets ${port.targetPort}, which the container does not expose`);
      else if (port.port !== target) say(`${where} is ${port.port}, the container's is ${target}`);
      const name = Object.entries(listening.ports).find(([, port]) => port === target)?.[0] ?? "";
      const protocol = listening.tls.has(name) ? "https" : name === "grpc" ? "kubernetes.io/h2c" : "http";
      if (port.appProtocol !== protocol) say(`${where} has appProtocol ${port.appProtocol}, expected ${protocol}`);
    }
  }
  return problems;
}

/** A label selector (matchLabels or a Service selector) that is non-empty and matches `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}
