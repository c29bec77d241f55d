// After the traffic: wait (bounded) until the consumer group caught up, read everything back, and judge the run
// against the delivery contract's invariants.
import type { UnexpectedExit } from "./apps.ts";
import type { TopicSpec } from "./content.ts";
import { type Ledger, selfCheck, verifyIndices } from "./oracle.ts";
import type { Options } from "./options.ts";
import type { FaultRecord, Sample } from "./report.ts";
import { say, since, sleep } from "./say.ts";
import type { Traffic } from "./traffic.ts";
import { countDocs, type KafkaProbe, listIndices, refresh } from "./verify.ts";

/** Waits until every log topic is fully committed by the group and the document count is stable. */
export async function catchUp(
  probe: KafkaProbe,
  opensearch: string,
  groupId: string,
  kafkaTopics: string[],
  traffic: Traffic,
  timeoutSeconds: number,
): Promise<{ caughtUp: boolean; seconds: number }> {
  const catchupStarted = Date.now();
  let stableCount = -1;
  let stableSince = 0;
  let lastPrint = 0;
  let caughtUp = false;
  while (Date.now() - catchupStarted < timeoutSeconds * 1000) {
    const lag = await probe.lag(groupId, kafkaTopics);
    const docs = await countDocs(opensearch, "chaos-*");
    if (docs !== stableCount) {
      stableCount = docs ?? -1;
      stableSince = Date.now();
    }
    if (Date.now() - lastPrint > 5_000) {
      lastPrint = Date.now();
      say(
        `catching up: lag ${lag?.total ?? "?"} of ${lag?.records ?? "?"} records, ${docs ?? "?"} documents (acknowledged ${traffic.stats.acked})`,
      );
    }
    if (lag && lag.total === 0 && docs !== undefined && Date.now() - stableSince > 3_000) {
      caughtUp = true;
      break;
    }
    await sleep(1_000);
  }
  const seconds = Math.round((Date.now() - catchupStarted) / 100) / 10;
  say(caughtUp ? `consumer caught up in ${seconds}s` : `consumer did NOT catch up in ${seconds}s`);
  return { caughtUp, seconds };
}

export interface RunFacts {
  run: string;
  t0: number;
  options: Options;
  rate: number;
  plannedSeconds: number;
  ports: Record<string, number>;
  opensearch: string;
  dlqTopic: string;
  topics: TopicSpec[];
  traffic: Traffic;
  probe: KafkaProbe;
  catchUp: { caughtUp: boolean; seconds: number };
  faults: FaultRecord[];
  unexpectedExits: UnexpectedExit[];
  samples: Sample[];
}

/** Reads every document back, checks the invariants and returns the report (printed and saved by the caller). */
export async function judge(facts: RunFacts) {
  const { options, opensearch, traffic, probe, faults, unexpectedExits, topics } = facts;
  const { caughtUp, seconds: catchupSeconds } = facts.catchUp;
  await refresh(opensearch, "chaos-*");
  say("reading every document back from OpenSearch");
  const ledger: Ledger = {
    run: facts.run,
    state: traffic.state,
    topicOf: traffic.topicOf,
    capacity: traffic.nextExtra,
    topics,
  };
  const verdict = await verifyIndices(opensearch, "chaos-*", ledger);
  const { missing, duplicated, corrupted, wrongIndex, unexpected, rejectedPresent } = verdict;
  const indices = await listIndices(opensearch);
  const foreignIndices = indices.filter((i) => !topics.some((t) => i.index.startsWith(`${t.indexPrefix}-`)));
  const dlqRecords = await probe.topicRecords(facts.dlqTopic).catch(() => -1);
  const dlqSamples = dlqRecords > 0 ? await probe.readDlq(facts.dlqTopic, dlqRecords, 20).catch(() => []) : [];
  let oracleSelfCheck: { ok: boolean; detail: string } | undefined;
  if (options.selfCheck) {
    say("self-check: planting a missing, a duplicated, a corrupted and an unknown document, verifying again");
    oracleSelfCheck = await selfCheck(opensearch, "chaos-*", ledger, verdict).catch((error) => ({
      ok: false,
      detail: `self-check failed: ${(error as Error).message}`,
    }));
    say(`self-check: ${oracleSelfCheck.ok ? "ok" : "FAILED"}: ${oracleSelfCheck.detail}`);
  }

  const stats = traffic.stats;
  const invariants = [
    { name: "every acknowledged log is indexed", ok: missing === 0, detail: `${missing} missing` },
    { name: "no log is indexed twice", ok: duplicated === 0, detail: `${duplicated} duplicated` },
    { name: "indexed content is intact", ok: corrupted === 0, detail: `${corrupted} corrupted` },
    { name: "documents are in their app's index", ok: wrongIndex === 0, detail: `${wrongIndex} in another index` },
    {
      name: "nothing else is indexed",
      ok: unexpected === 0 && rejectedPresent === 0 && foreignIndices.length === 0,
      detail: `${unexpected} unknown documents, ${rejectedPresent} refused-but-present, ${foreignIndices.length} other indices`,
    },
    { name: "dead-letter topic is empty", ok: dlqRecords === 0, detail: `${dlqRecords} dead-lettered` },
    {
      name: "valid requests are never refused (4xx)",
      ok: stats.unexpectedRefusals.length === 0,
      detail: `${stats.unexpectedRefusals.length} refused`,
    },
    { name: "keyed requests eventually succeed", ok: stats.gaveUp === 0, detail: `${stats.gaveUp} logs gave up` },
    {
      name: "apps exit only when told to",
      ok: unexpectedExits.length === 0,
      detail: `${unexpectedExits.length} unexpected exits`,
    },
    { name: "the consumer catches up", ok: caughtUp, detail: `${catchupSeconds}s` },
    {
      name: "every scheduled fault ran",
      ok:
        faults.length === options.faults.length &&
        faults.every((f) => !f.notes.some((n) => n.startsWith("fault failed"))),
      detail: `${faults.length}/${options.faults.length}`,
    },
  ];
  if (oracleSelfCheck)
    invariants.push({
      name: "the oracle detects planted faults",
      ok: oracleSelfCheck.ok,
      detail: oracleSelfCheck.detail,
    });
  return {
    run: facts.run,
    passed: invariants.every((i) => i.ok),
    startedAt: new Date(facts.t0).toISOString(),
    seconds: since(),
    options: { ...options, rate: Math.round(facts.rate), plannedSeconds: facts.plannedSeconds },
    ports: facts.ports,
    sent: {
      logs: options.logs,
      logsIncludingResends: stats.logsSent,
      requests: stats.requests,
      requestsByProtocol: stats.requestsByProtocol,
      keyedRequests: stats.keyedRequests,
      keylessRequests: stats.keylessRequests,
      retries: stats.retries,
      clientErrors: stats.errors,
      clientErrorsByKind: stats.errorsByKind,
      errorSamples: stats.errorSamples.map((e) => ({ ...e, at: since(e.at) })),
    },
    acknowledged: stats.acked,
    failed: {
      logs: stats.failed,
      presentOnce: verdict.failedPresent,
      absent: verdict.failedAbsent,
      resentUnderNewIds: stats.resentLogs,
    },
    rejected: stats.rejected,
    gaveUp: stats.gaveUp,
    indexed: { documents: verdict.documents, acknowledgedPresent: verdict.ackedPresent, indices },
    missing,
    duplicated,
    corrupted,
    wrongIndex,
    unexpected: { documents: unexpected, refusedButPresent: rejectedPresent, foreignIndices },
    deadLettered: dlqRecords,
    dlqSamples,
    samples: { ...verdict.samples, refused: stats.unexpectedRefusals.slice(0, 20) },
    oracleSelfCheck,
    catchUpSeconds: catchupSeconds,
    faults,
    unexpectedExits: unexpectedExits.map((e) => ({ ...e, at: since(e.at) })),
    throughput: facts.samples,
    invariants,
  };
}
