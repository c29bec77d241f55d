// `pnpm images test` and scripts/images/images.it.test.ts: the built images against the running local stack.
// Logs go in through the producer container (REST and gRPC+zstd), are read back from OpenSearch as the consumer
// container indexed them, and both containers are stopped the way an orchestrator does (docker stop = SIGTERM).
import { randomBytes } from "node:crypto";
import { chmodSync } from "node:fs";
import { createTestPki } from "../../packages/tls/src/testing/pki.ts";
import { freePorts } from "../lib/ports.ts";
import { imageTag } from "./build.ts";
import {
  inspect,
  logsTail,
  mib,
  peakMemoryBytes,
  removeContainer,
  runContainer,
  search,
  stopContainer,
  waitFor,
  waitHealthy,
} from "./containers.ts";
import { docker, type Log } from "./engine.ts";
import { duplicateSeqs, grpcProduceBatch, post, seedContext, seedProduce, seedProduceBatch } from "./requests.ts";

/** The memory budgets of issue 13: the containers run under them, never above. */
export const MEMORY_LIMITS = { producer: "256m", consumer: "512m" } as const;
/** BARITO_SHUTDOWN_TIMEOUT's default; `docker stop` waits a little longer before SIGKILL (as compose's 40 s). */
const SHUTDOWN_TIMEOUT_S = 30;
const STOP_GRACE_S = 40;
/** Logs sent just before the consumer is stopped, so that it is stopped with work in hand. */
const LOAD_BATCHES = 40;
const LOAD_BATCH_SIZE = 500;

export const CHECK_NAMES = [
  "both images validate a configuration (barito-flow APP --check-config)",
  "producer container turns healthy (HEALTHCHECK)",
  "consumer container turns healthy (HEALTHCHECK)",
  "both containers run as a non-root user on a read-only root filesystem",
  "tini is PID 1 and the app its child, so the forced end at shutdown can signal itself",
  "both containers answer /readyz with 200 on the local stack",
  "seed README POST /produce body is indexed",
  "seed README POST /produce_batch body is indexed",
  "gRPC ProduceBatch with zstd is indexed",
  "docker stop: consumer exits 0 within the shutdown timeout while draining",
  "docker stop: producer exits 0 within the shutdown timeout",
  "a consumer whose operator port has TLS (BARITO_EXPORTER_TLS_*) turns healthy: the HEALTHCHECK speaks HTTPS",
  "every acknowledged log is indexed exactly once",
  "memory limits 256m/512m applied, no OOM kill",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  detail: string;
}

export interface CheckOptions {
  kafkaBrokers?: string;
  openSearchUrl?: string;
}

export async function runImageChecks(log: Log, options: CheckOptions = {}): Promise<CheckResult[]> {
  const brokers = options.kafkaBrokers ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
  const os = options.openSearchUrl ?? process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
  const run = randomBytes(4).toString("hex");
  const prefix = `img${run}-`;
  const indexPrefix = `img${run}`;
  const indices = `${indexPrefix}-*`;
  const names = { producer: `barito-images-test-${run}-producer`, consumer: `barito-images-test-${run}-consumer` };
  const drainerName = `${names.consumer}-2`;
  const results = new Map<CheckName, CheckResult>();
  const record = (name: CheckName, ok: boolean, detail: string): void => {
    results.set(name, { name, ok, detail });
    log(`${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
  };
  const [rest, grpc, producerMetrics, consumerMetrics, drainerMetrics] = await freePorts(5);
  const shared = {
    BARITO_KAFKA_BROKERS: brokers,
    BARITO_KAFKA_TOPIC_PREFIX: prefix,
    BARITO_NEW_TOPIC_EVENT: `${prefix}new_topic_events`,
    LOG_LEVEL: "info",
  };
  const consumerEnv = (metricsPort: number | undefined) => ({
    ...shared,
    EXPORTER_PORT: `127.0.0.1:${metricsPort}`,
    BARITO_KAFKA_GROUP_ID: `images-test-${run}`,
    BARITO_ELASTICSEARCH_URLS: os,
    // The test's topic appears after the consumer started; find it within seconds, not the default 30 s.
    BARITO_CONSUMER_TOPIC_RESCAN_INTERVAL: "2s",
  });
  const ids: Record<string, string> = {};
  const pki = createTestPki();
  const peaks: Record<string, number | undefined> = {};
  const notePeak = (key: string, id: string | undefined) => {
    const value = id ? peakMemoryBytes(id) : undefined;
    if (value !== undefined) peaks[key] = Math.max(peaks[key] ?? 0, value);
  };
  log(
    `images test: run ${run}, topic prefix ${prefix}, group images-test-${run}, index ${indices}, Kafka ${brokers}, OpenSearch ${os}`,
  );

  try {
    const checked = (["producer", "consumer"] as const).map((app) => {
      const out = docker(
        [
          "run",
          "--rm",
          "--network",
          "host",
          "-e",
          `BARITO_KAFKA_BROKERS=${brokers}`,
          imageTag(app),
          "barito-flow",
          app,
          "--check-config",
        ],
        {
          allowFailure: true,
        },
      );
      return {
        app,
        status: out.status,
        said: `${out.stdout}${out.stderr}`.trim().split("\n").pop()?.slice(0, 160) ?? "",
      };
    });
    record(
      CHECK_NAMES[0],
      checked.every((c) => c.status === 0 && c.said.includes("configuration is valid")),
      checked.map((c) => `${c.app}: exit ${c.status}, ${c.said}`).join("; "),
    );
    // Health is timed from `docker run`: on vfs the engine copies the image's files for each container first.
    const runAt = Date.now();
    ids.producer = runContainer({
      name: names.producer,
      image: imageTag("producer"),
      memory: MEMORY_LIMITS.producer,
      env: {
        ...shared,
        BARITO_PRODUCER_REST: `127.0.0.1:${rest}`,
        BARITO_PRODUCER_GRPC: `127.0.0.1:${grpc}`,
        EXPORTER_PORT: `127.0.0.1:${producerMetrics}`,
      },
    });
    ids.consumer = runContainer({
      name: names.consumer,
      image: imageTag("consumer"),
      memory: MEMORY_LIMITS.consumer,
      env: consumerEnv(consumerMetrics),
    });
    const health = await Promise.allSettled([
      waitHealthy(names.producer, 90_000, runAt),
      waitHealthy(names.consumer, 90_000, runAt),
    ]);
    for (const [i, app] of (["producer", "consumer"] as const).entries()) {
      const outcome = health[i] as PromiseSettledResult<number>;
      record(
        `${app} container turns healthy (HEALTHCHECK)`,
        outcome.status === "fulfilled",
        outcome.status === "fulfilled" ? `healthy after ${outcome.value.toFixed(1)} s` : String(outcome.reason),
      );
    }
    if (health.some((h) => h.status === "rejected")) throw new Error("a container never became healthy");

    const users = (["producer", "consumer"] as const).map((app) => {
      const exec = spawnId(names[app]);
      const state = inspect(names[app]);
      return { app, uid: exec, configured: state.user, readOnly: state.readOnlyRootfs };
    });
    record(
      "both containers run as a non-root user on a read-only root filesystem",
      users.every((u) => u.uid !== "0" && u.uid !== "" && u.configured !== "" && u.configured !== "root" && u.readOnly),
      users
        .map((u) => `${u.app}: uid ${u.uid} (USER ${u.configured || "unset"}, read-only root ${u.readOnly})`)
        .join(", "),
    );

    const inits = (["producer", "consumer"] as const).map((app) => ({
      app,
      init: docker(["exec", names[app], "cat", "/proc/1/comm"], { allowFailure: true }).stdout.trim(),
      // PID 1's child, if it is Node (the image has no procps).
      appPid: docker(
        [
          "exec",
          names[app],
          "sh",
          "-c",
          "set -- $(cat /proc/1/task/1/children); readlink /proc/$1/exe | grep -q /node$ && echo $1",
        ],
        { allowFailure: true },
      ).stdout.trim(),
    }));
    record(
      "tini is PID 1 and the app its child, so the forced end at shutdown can signal itself",
      inits.every((i) => i.init === "tini" && i.appPid !== "" && i.appPid !== "1"),
      inits.map((i) => `${i.app}: PID 1 ${i.init || "?"}, node pid ${i.appPid || "?"}`).join(", "),
    );

    const ready = await Promise.all(
      [producerMetrics, consumerMetrics].map((port) =>
        waitFor(async () => {
          const r = await fetch(`http://127.0.0.1:${port}/readyz`);
          return r.status === 200 ? r.status : undefined;
        }, 60_000),
      ),
    );
    record(
      "both containers answer /readyz with 200 on the local stack",
      ready.every((status) => status === 200),
      `producer ${ready[0] ?? "not ready in 60 s"}, consumer ${ready[1] ?? "not ready in 60 s"}`,
    );

    const base = `http://127.0.0.1:${rest}`;
    const single = await post(`${base}/produce`, seedProduce(indexPrefix));
    const batch = await post(`${base}/produce_batch`, seedProduceBatch(indexPrefix));
    const marker = `grpc-${run}`;
    const grpcTopic = await grpcProduceBatch(`http://127.0.0.1:${grpc}`, indexPrefix, marker).catch(
      (e: Error) => `error: ${e.message}`,
    );
    const found = async (query: unknown, n: number) =>
      waitFor(async () => {
        const r = await search(os, indices, query);
        return r.total >= n ? r : undefined;
      }, 60_000);
    const singleHit = await found({ term: { "hello.keyword": "world" } }, 1);
    record(
      "seed README POST /produce body is indexed",
      single.status === 200 &&
        singleHit?.total === 1 &&
        singleHit.hits[0]?._source.num === 100 &&
        singleHit.hits[0]?._source.key === "value",
      `HTTP ${single.status} ${single.text}; found ${singleHit?.total ?? 0} document(s)${singleHit?.hits[0] ? ` in ${singleHit.hits[0]._index}: ${JSON.stringify(singleHit.hits[0]._source)}` : ""}`,
    );
    const batchHit = await found({ exists: { field: "timber_num" } }, 2);
    const nums = (batchHit?.hits ?? []).map((h) => h._source.timber_num).sort();
    record(
      "seed README POST /produce_batch body is indexed",
      batch.status === 200 && batchHit?.total === 2 && JSON.stringify(nums) === "[1,2]",
      `HTTP ${batch.status} ${batch.text}; found timber_num ${JSON.stringify(nums)}`,
    );
    const grpcHit = await found({ term: { "grpc_marker.keyword": marker } }, 3);
    record(
      "gRPC ProduceBatch with zstd is indexed",
      grpcTopic === `${prefix}kafka_topic_logs` && grpcHit?.total === 3,
      `reply topic ${grpcTopic}; found ${grpcHit?.total ?? 0} of 3 documents`,
    );

    // Stop with work in hand: a burst the consumer is still indexing when SIGTERM arrives.
    let acknowledged = 0;
    const loadMarker = `load-${run}`;
    const sends = Array.from({ length: LOAD_BATCHES }, (_, b) =>
      post(`${base}/produce_batch`, {
        // Its own app (topic) with room for the burst: the seed's app_max_tps of 100 admits 1,000 logs per window.
        context: { ...seedContext(indexPrefix), kafka_topic: "load_topic", app_max_tps: 100_000 },
        items: Array.from({ length: LOAD_BATCH_SIZE }, (_, i) => ({
          content: { load: loadMarker, seq: b * LOAD_BATCH_SIZE + i, message: `log ${b}/${i} ${"x".repeat(150)}` },
        })),
      }).then((r) => {
        if (r.status === 200) acknowledged += LOAD_BATCH_SIZE;
      }),
    );
    for (let i = 0; i < sends.length; i += 8) await Promise.all(sends.slice(i, i + 8));
    // SIGTERM once the consumer has started on the burst (it finds the new topic within its rescan interval).
    const loadCount = async () => (await search(os, indices, { term: { "load.keyword": loadMarker } }, 0)).total;
    const indexedAtStop =
      (await waitFor(async () => ((await loadCount()) > 0 ? loadCount() : undefined), 30_000, 100)) ?? 0;
    notePeak("consumer", ids.consumer);
    notePeak("producer", ids.producer);
    log(
      `load: ${acknowledged} of ${LOAD_BATCHES * LOAD_BATCH_SIZE} logs acknowledged; ${indexedAtStop} indexed when the consumer gets SIGTERM`,
    );
    const consumerStop = stopContainer(names.consumer, STOP_GRACE_S);
    record(
      "docker stop: consumer exits 0 within the shutdown timeout while draining",
      consumerStop.exitCode === 0 && consumerStop.seconds <= SHUTDOWN_TIMEOUT_S + 5,
      `exit ${consumerStop.exitCode} after ${consumerStop.seconds.toFixed(1)} s (timeout ${SHUTDOWN_TIMEOUT_S} s, ${indexedAtStop}/${acknowledged} indexed at SIGTERM, OOMKilled ${consumerStop.oomKilled})${consumerStop.exitCode === 0 ? "" : `; last log lines:\n${logsTail(names.consumer)}`}`,
    );
    notePeak("producer", ids.producer);
    const producerStop = stopContainer(names.producer, STOP_GRACE_S);
    record(
      "docker stop: producer exits 0 within the shutdown timeout",
      producerStop.exitCode === 0 && producerStop.seconds <= SHUTDOWN_TIMEOUT_S + 5,
      `exit ${producerStop.exitCode} after ${producerStop.seconds.toFixed(1)} s (OOMKilled ${producerStop.oomKilled})${producerStop.exitCode === 0 ? "" : `; last log lines:\n${logsTail(names.producer)}`}`,
    );

    // What the stopped consumer had not committed, a second consumer of the same group picks up. Its operator port
    // has TLS, as deploy/overlays/example sets it up, which its HEALTHCHECK must follow. The container's user reads
    // the mounted files.
    const operatorCert = pki.ca("operator").server("consumer");
    for (const path of [pki.dir, `${pki.dir}/operator`]) chmodSync(path, 0o755);
    for (const path of [operatorCert.certPath, operatorCert.keyPath]) chmodSync(path, 0o644);
    const drainerStarted = Date.now();
    ids.drainer = runContainer({
      name: drainerName,
      image: imageTag("consumer"),
      memory: MEMORY_LIMITS.consumer,
      env: {
        ...consumerEnv(drainerMetrics),
        BARITO_EXPORTER_TLS_CERT: "/tls/operator/consumer.crt",
        BARITO_EXPORTER_TLS_KEY: "/tls/operator/consumer.key",
      },
      readOnlyMounts: { [pki.dir]: "/tls" },
    });
    const drainerHealth = await waitHealthy(drainerName, 90_000, drainerStarted).then(
      (seconds) => `healthy after ${seconds.toFixed(1)} s`,
      (error: unknown) => error as Error,
    );
    record(
      "a consumer whose operator port has TLS (BARITO_EXPORTER_TLS_*) turns healthy: the HEALTHCHECK speaks HTTPS",
      typeof drainerHealth === "string",
      String(drainerHealth),
    );
    const drained = await waitFor(
      async () => {
        const r = await search(os, indices, { term: { "load.keyword": loadMarker } }, 0);
        return r.total >= acknowledged ? r.total : undefined;
      },
      120_000,
      1000,
    );
    const dupes = await duplicateSeqs(os, indices, loadMarker);
    notePeak("drainer", ids.drainer);
    const drainerStop = stopContainer(drainerName, STOP_GRACE_S);
    const total = (await search(os, indices, { term: { "load.keyword": loadMarker } }, 0)).total;
    record(
      "every acknowledged log is indexed exactly once",
      acknowledged === LOAD_BATCHES * LOAD_BATCH_SIZE && drained !== undefined && total === acknowledged && dupes === 0,
      `${total} documents for ${acknowledged} acknowledged logs, ${dupes} seq value(s) indexed more than once; second consumer stopped with exit ${drainerStop.exitCode} after ${drainerStop.seconds.toFixed(1)} s`,
    );
  } catch (error) {
    log(`images test: stopped early: ${(error as Error).message}`);
  } finally {
    pki.remove();
    const states = Object.entries({ producer: names.producer, consumer: names.consumer, drainer: drainerName }).map(
      ([key, name]) => {
        try {
          return { key, state: inspect(name) };
        } catch {
          return { key, state: undefined };
        }
      },
    );
    const ran = states.filter((s) => s.state !== undefined);
    const limitsOk =
      ran.length >= 2 &&
      ran.every((s) => s.state?.memoryLimit === (s.key === "producer" ? 256 : 512) * 1048576 && !s.state?.oomKilled);
    record(
      "memory limits 256m/512m applied, no OOM kill",
      limitsOk,
      ran
        .map(
          (s) =>
            `${s.key}: limit ${mib(s.state?.memoryLimit)}, OOMKilled ${s.state?.oomKilled}, cgroup peak ${mib(peaks[s.key])}`,
        )
        .join("; "),
    );
    for (const name of [names.producer, names.consumer, drainerName]) removeContainer(name);
  }
  return CHECK_NAMES.map(
    (name) => results.get(name) ?? { name, ok: false, detail: "not reached (see the lines above)" },
  );
}

function spawnId(container: string): string {
  return docker(["exec", container, "id", "-u"], { allowFailure: true }).stdout.trim();
}

export function printSummary(results: CheckResult[], log: Log): boolean {
  const failed = results.filter((r) => !r.ok);
  log("");
  log("images test summary");
  for (const r of results) log(`  ${r.ok ? "PASS" : "FAIL"}  ${r.name}`);
  log(`${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0;
}
