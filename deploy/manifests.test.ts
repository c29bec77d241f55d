// The Kubernetes manifests, rendered by kustomize exactly as `kubectl apply -k` would, checked offline: against the
// Kubernetes API schemas and types (kubernetes-models), and against the apps' own configuration and listeners.
// No cluster runs here; see deploy/README.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { loadConsumerConfig } from "../apps/consumer/src/config";
import { loadProducerConfig } from "../apps/producer/src/config";
import { inertSharedVariables, sharedEnvShape } from "../packages/config/src/index";
import { type AppSpec, appProblems, consumer, documentedSecrets, producer } from "./check/app-config";
import { deployDir, findObject, type K8sObject, kustomizeBuild, repoRoot } from "./check/render";
import { schemaProblems, unknownFieldProblems } from "./check/schema";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain JSON
type Json = any;

const apps: readonly AppSpec[] = [producer, consumer];
const rendered: Record<"base" | "overlay", K8sObject[]> = { base: [], overlay: [] };

beforeAll(() => {
  rendered.base = kustomizeBuild(join(deployDir, "base"));
  rendered.overlay = kustomizeBuild(join(deployDir, "overlays", "example"));
});

const version = (app: string) =>
  (JSON.parse(readFileSync(join(repoRoot, "apps", app, "package.json"), "utf8")) as { version: string }).version;

function container(objects: readonly K8sObject[], spec: AppSpec): Json {
  const deployment = findObject(objects, "Deployment", spec.deployment) as Json;
  return deployment.spec.template.spec.containers.find((c: Json) => c.name === spec.container);
}

describe.each(["base", "overlay"] as const)("deploy/%s", (variant) => {
  it("holds the expected objects", () => {
    const names = rendered[variant].map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, "-<hash>")}`);
    const common = [
      "ConfigMap/barito-flow-shared",
      "ConfigMap/barito-flow-producer",
      "ConfigMap/barito-flow-consumer",
      "Deployment/barito-flow-producer",
      "Service/barito-flow-producer",
      "HorizontalPodAutoscaler/barito-flow-producer",
      "PodDisruptionBudget/barito-flow-producer",
      "Deployment/barito-flow-consumer",
      "PodDisruptionBudget/barito-flow-consumer",
    ];
    const overlayOnly = [
      "Namespace/barito-flow",
      "Secret/barito-flow-kafka-secrets-<hash>",
      "Secret/barito-flow-producer-secrets-<hash>",
      "Secret/barito-flow-consumer-secrets-<hash>",
      "Secret/barito-flow-producer-auth",
    ];
    expect(names.sort()).toEqual((variant === "base" ? common : [...common, ...overlayOnly]).sort());
  });

  it("passes the Kubernetes JSON schemas", () => {
    expect(schemaProblems(rendered[variant])).toEqual([]);
  });

  // Walks every rendered object through the whole Kubernetes schema (2.5 s on a loaded 2-core machine): more than a
  // unit test's 5 s can absorb under CI load.
  it("has no field the Kubernetes API does not know", () => {
    expect(unknownFieldProblems(rendered[variant])).toEqual([]);
  }, 20_000);

  it.each(apps.map((spec) => [spec.app, spec] as const))(
    "agrees with the %s's configuration and listeners",
    (_, spec) => {
      expect(appProblems(rendered[variant], spec)).toEqual([]);
    },
  );

  it("autoscales the producer on CPU, and leaves its replica count to the autoscaler", () => {
    const hpa = findObject(rendered[variant], "HorizontalPodAutoscaler", "barito-flow-producer") as Json;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: producer.deployment });
    expect(hpa.spec.metrics.map((m: Json) => m.resource?.name)).toEqual(["cpu"]);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect((findObject(rendered[variant], "Deployment", producer.deployment) as Json).spec.replicas).toBeUndefined();
  });

  it.each(apps.map((spec) => [spec.app, spec] as const))("runs the %s image of the app's version", (app, spec) => {
    const registry = variant === "base" ? "" : "registry.example.com/";
    expect(container(rendered[variant], spec).image).toBe(`${registry}barito-flow/${app}:${version(app)}`);
  });
});

describe("configuration coverage", () => {
  // Accepted for compatibility with Go barito-flow, without effect: no ConfigMap lists them. A sample value each,
  // to prove the loader really reports them as inert.
  const inert: Record<AppSpec["app"], Record<string, string>> = {
    producer: { BARITO_PRODUCER_MAX_TPS: "100" },
    consumer: {
      BARITO_CONSUMER_REBALANCING_STRATEGY: "RoundRobin",
      BARITO_CONSUMER_MAX_PROCESSING_TIME: "500",
      BARITO_CONSUMER_CHANNEL_BUFFER_SIZE: "256",
      BARITO_CONSUMER_ELASTICSEARCH_RETRIER_INTERVAL: "30s",
      BARITO_CONSUMER_ELASTICSEARCH_RETRIER_MAX_RETRY: "10",
    },
  };
  const sharedInert: Record<string, string> = {};
  const load = { producer: loadProducerConfig, consumer: loadConsumerConfig };

  it.each(apps.map((spec) => [spec.app, spec] as const))("lists only the %s's inert variables as inert", (app) => {
    expect(Object.keys(sharedInert).sort()).toEqual([...inertSharedVariables].sort());
    for (const [name, value] of Object.entries({ ...sharedInert, ...inert[app] })) {
      expect(load[app]({ [name]: value }).inertVariables).toEqual([name]);
    }
  });

  it.each(apps.map((spec) => [spec.app, spec] as const))(
    "writes every other %s variable in a ConfigMap, and every secret nowhere but in a Secret",
    (app, spec) => {
      const sources = container(rendered.base, spec).envFrom;
      const inConfigMaps = new Set<string>();
      for (const source of sources.filter((s: Json) => s.configMapRef)) {
        const configMap = findObject(rendered.base, "ConfigMap", source.configMapRef.name) as Json;
        for (const key of Object.keys(configMap.data)) inConfigMaps.add(key);
      }
      const secrets = documentedSecrets();
      const skipped = new Set([...Object.keys(sharedInert), ...Object.keys(inert[app])]);
      const missing = spec.variables.filter(
        (name) => !skipped.has(name) && !secrets.has(name) && !inConfigMaps.has(name),
      );
      expect(missing).toEqual([]);
      expect([...inConfigMaps].filter((name) => secrets.has(name))).toEqual([]);
    },
  );

  // The variable tables are what operators read; a variable missing from them is effectively undocumented. The shared
  // fragment's variables are in packages/config/README.md, each app's own in its README.
  it.each(apps.map((spec) => [spec.app, spec] as const))("documents every %s variable in a table row", (app, spec) => {
    const tableRows = (path: string) =>
      new Set([...readFileSync(join(repoRoot, path), "utf8").matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]));
    const shared = tableRows("packages/config/README.md");
    const own = tableRows(`apps/${app}/README.md`);
    const sharedNames = new Set(Object.keys(sharedEnvShape));
    expect(spec.variables.filter((name) => !(sharedNames.has(name) ? shared : own).has(name))).toEqual([]);
  });

  it("reads the secrets from the variable tables, and no file path among them", () => {
    const secrets = [...documentedSecrets()];
    // The ones known today; more may come (the README decides).
    expect(secrets).toEqual(
      expect.arrayContaining([
        "BARITO_KAFKA_SASL_PASSWORD",
        "BARITO_REDIS_PASSWORD",
        "ELASTIC_PASSWORD",
        "MARKET_REDACT_CLIENT_KEY",
      ]),
    );
    expect(secrets.filter((name) => /TLS|_CERT$/.test(name))).toEqual([]);
  });

  it("gives the example overlay's Secrets placeholder values only", () => {
    const secrets = rendered.overlay.filter((o) => o.kind === "Secret") as Json[];
    // A JSON table of secrets (the producer's app secrets file) is a placeholder when every key is one.
    const placeholder = (text: string) =>
      text.startsWith("{")
        ? Object.keys(JSON.parse(text)).every((key) => key.startsWith("CHANGE-ME-"))
          ? "CHANGE-ME-table"
          : text
        : text;
    for (const secret of secrets) {
      for (const [name, value] of Object.entries<string>(secret.data)) {
        const text = Buffer.from(value, "base64").toString();
        expect([name, placeholder(text)]).toEqual([name, expect.stringMatching(/^CHANGE-ME-/)]);
      }
    }
  });
});

describe("the checks catch mistakes", () => {
  type Mutation = [string, (objects: Json[]) => void, RegExp];
  const deployment = (objects: Json[], spec: AppSpec) =>
    objects.find((o) => o.metadata.name === spec.deployment && o.kind === "Deployment");
  const configMap = (objects: Json[], name: string) =>
    objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name);
  const mutated = (mutate: (objects: Json[]) => void) => {
    const copy = structuredClone(rendered.overlay) as Json[];
    mutate(copy);
    return copy;
  };
  const configMistakes: Mutation[] = [
    [
      "an unknown variable",
      (o) => {
        configMap(o, "barito-flow-shared").data.BARITO_KAFKA_BROKER = "k:9092";
      },
      /BARITO_KAFKA_BROKER, which is not a producer variable/,
    ],
    [
      "a consumer variable given to the producer",
      (o) => {
        configMap(o, "barito-flow-producer").data.BARITO_KAFKA_GROUP_ID = "g";
      },
      /BARITO_KAFKA_GROUP_ID, which is not a producer variable/,
    ],
    [
      "an invalid value",
      (o) => {
        configMap(o, "barito-flow-shared").data.BARITO_SHUTDOWN_TIMEOUT = "soon";
      },
      /refuses BARITO_SHUTDOWN_TIMEOUT/,
    ],
    [
      "a wrong container port",
      (o) => {
        container(o, producer).ports[0].containerPort = 8081;
      },
      /container port "http" is 8081, the producer listens on 8080/,
    ],
    [
      "a listener moved without its port",
      (o) => {
        configMap(o, "barito-flow-producer").data.BARITO_PRODUCER_GRPC = ":9090";
      },
      /"grpc" is 8082, the producer listens on 9090/,
    ],
    [
      "a Service port that targets nothing",
      (o) => {
        o.find((x) => x.kind === "Service").spec.ports[1].targetPort = "grcp";
      },
      /targets grcp/,
    ],
    [
      "cleartext gRPC without h2c",
      (o) => {
        const data = configMap(o, "barito-flow-producer").data;
        data.BARITO_PRODUCER_TLS_CERT = data.BARITO_PRODUCER_TLS_KEY = "";
        o.find((x) => x.kind === "Service").spec.ports[1].appProtocol = "http";
      },
      /appProtocol http, expected kubernetes.io\/h2c/,
    ],
    [
      "a probe path the app does not serve",
      (o) => {
        container(o, producer).readinessProbe.httpGet.path = "/ready";
      },
      /\/ready is not served/,
    ],
    [
      "a probe on the wrong port",
      (o) => {
        container(o, producer).livenessProbe.httpGet.port = "http";
      },
      /livenessProbe port http is not the metrics port/,
    ],
    [
      "a scrape port that is not the metrics port",
      (o) => {
        deployment(o, producer).spec.template.metadata.annotations["prometheus.io/port"] = "8080";
      },
      /prometheus.io\/port is not 8008/,
    ],
    [
      "a grace period the shutdown does not fit in",
      (o) => {
        deployment(o, producer).spec.template.spec.terminationGracePeriodSeconds = 40;
      },
      /terminationGracePeriodSeconds 40 must exceed/,
    ],
    [
      "no preStop delay in front of a Service",
      (o) => {
        delete container(o, producer).lifecycle;
      },
      /no preStop delay/,
    ],
    [
      "a memory limit off budget",
      (o) => {
        container(o, producer).resources.limits.memory = "512Mi";
      },
      /budget is 256Mi/,
    ],
    [
      "a secret in a ConfigMap",
      (o) => {
        configMap(o, "barito-flow-consumer").data.ELASTIC_PASSWORD = "x";
      },
      /holds the secret ELASTIC_PASSWORD/,
    ],
    [
      "a certificate path outside every mount",
      (o) => {
        configMap(o, "barito-flow-shared").data.BARITO_KAFKA_TLS_CA_CERT = "/etc/ssl/kafka.crt";
      },
      /BARITO_KAFKA_TLS_CA_CERT=\/etc\/ssl\/kafka.crt is in no mounted volume/,
    ],
    [
      "an HTTP probe of an HTTPS metrics port",
      (o) => {
        delete container(o, producer).readinessProbe.httpGet.scheme;
      },
      /readinessProbe uses HTTP, the metrics port speaks HTTPS/,
    ],
    [
      "a cleartext scrape of an HTTPS metrics port",
      (o) => {
        delete deployment(o, producer).spec.template.metadata.annotations["prometheus.io/scheme"];
      },
      /prometheus.io\/scheme is not https/,
    ],
    [
      "gRPC over TLS announced as h2c",
      (o) => {
        o.find((x) => x.kind === "Service").spec.ports[1].appProtocol = "kubernetes.io/h2c";
      },
      /appProtocol kubernetes.io\/h2c, expected https/,
    ],
    [
      "a command that replaces the image's init",
      (o) => {
        container(o, consumer).command = ["barito-flow"];
      },
      /the command is \["barito-flow","barito-flow","consumer"\]/,
    ],
    [
      "a command the image does not have",
      (o) => {
        container(o, consumer).args = ["barito-flow", "consume"];
      },
      /the command is \["barito-flow","consume"\]/,
    ],
    [
      "a writable root filesystem",
      (o) => {
        container(o, consumer).securityContext.readOnlyRootFilesystem = false;
      },
      /not read-only/,
    ],
  ];

  it.each(configMistakes)("%s", (_, mutate, expected) => {
    const objects = mutated(mutate);
    const problems = [...appProblems(objects, producer), ...appProblems(objects, consumer)];
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  // The same schema walk as above, twice over.
  it("a misspelt field, at any depth, and a field of the wrong type", () => {
    const objects = mutated((o) => {
      container(o, producer).readinessProbee = container(o, producer).readinessProbe;
      container(o, consumer).lifecycle = { preStop: { sleep: { second: 5 } } };
      deployment(o, consumer).spec.template.spec.securityContext.runAsNonRoot = "yes";
    });
    const problems = unknownFieldProblems(objects);
    expect(problems).toEqual(
      expect.arrayContaining([
        "Deployment/barito-flow-producer: /spec/template/spec/containers/0/readinessProbee is not a field of IContainer",
        "Deployment/barito-flow-consumer: /spec/template/spec/containers/0/lifecycle/preStop/sleep/second is not a field of ISleepAction",
        expect.stringMatching(/^Deployment\/barito-flow-consumer: Type 'string' is not assignable to type 'boolean/),
      ]),
    );
  }, 20_000);

  it("a value the schemas refuse", () => {
    const objects = mutated((o) => {
      container(o, producer).resources.limits.memory = "256 Mi";
      container(o, consumer).lifecycle = { preStop: { sleep: {} } };
    });
    expect(schemaProblems(objects)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Deployment\/barito-flow-producer: \/spec\/template\/spec\/containers\/0\/resources\/limits\/memory must match format "quantity"/,
        ),
        "Deployment/barito-flow-consumer: /spec/template/spec/containers/0/lifecycle/preStop/sleep must have required property seconds",
      ]),
    );
  });
});
