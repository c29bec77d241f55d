// The run's report: the records it is made of, and its printed form (also `pnpm chaos --print-report FILE`).
import type { UnexpectedExit } from "./apps.ts";
import { printClusterLines } from "./cluster-report.ts";
import type { FaultKind } from "./options.ts";

export interface FaultRecord {
  kind: FaultKind;
  /** Seconds since the run started. */
  plannedAt: number;
  startedAt: number;
  /** When the fault was lifted (process restarted / component start requested). */
  liftedAt?: number;
  /** When the component answered again (start completed). */
  restoredAt?: number;
  /** Seconds from lift to the first successful produce request completing. */
  firstAckAfterLift?: number;
  /** Seconds from lift to the first document indexed by a consumer. */
  indexingResumedAfterLift?: number;
  /** Client request errors from the fault's start to the first success after it was lifted. */
  clientErrors?: number;
  /** Wall-clock bounds of the fault (injection to measured recovery), for the cluster run's per-fault figures. */
  startedAtMs?: number;
  endedAtMs?: number;
  /** The cluster run's client-side figures for this fault (cluster-report.ts). */
  client?: FaultClientFigures;
  notes: string[];
}

export interface FaultClientFigures {
  /** Attempts sent from the fault's start to its end. */
  attempts: number;
  failed: number;
  errorRate: number;
  /** Seconds: the longest span in which requests failed (see cluster-report.ts for the definition). */
  longestFailedWindow: number;
  /** Seconds: the longest a request sent during the fault waited until any request succeeded. */
  longestAckStall: number;
  /** Seconds: the longest span in which no consumer indexed anything, from the fault's start to its end. */
  longestIndexingStall: number;
}

export interface Sample {
  t: number;
  acked: number;
  ackedPerSec: number;
  indexedEvents: number;
  indexedPerSec: number;
  docs: number | undefined;
  errors: number;
  fault: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the report is printed field by field
export function printReport(r: any): void {
  const lines: string[] = [];
  lines.push("", `=== chaos report ${r.run}: ${r.passed ? "PASSED" : "FAILED"} (${r.seconds}s) ===`);
  lines.push(
    `sent          ${r.sent.logs} logs (${r.sent.logsIncludingResends} with resends) in ${r.sent.requests} requests (${r.sent.keyedRequests} with Idempotency-Key, ${r.sent.keylessRequests} without)`,
  );
  lines.push(
    `              ${Object.entries(r.sent.requestsByProtocol)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  lines.push(
    `client errors ${r.sent.clientErrors} (${r.sent.retries} retries): ${
      Object.entries(r.sent.clientErrorsByKind)
        .map(([k, v]) => `${k} ×${v}`)
        .join(", ") || "none"
    }`,
  );
  lines.push(`acknowledged  ${r.acknowledged}`);
  lines.push(
    `failed        ${r.failed.logs} keyless logs (${r.failed.presentOnce} present once, ${r.failed.absent} absent), resent as ${r.failed.resentUnderNewIds} new ids; rejected ${r.rejected}; gave up ${r.gaveUp}`,
  );
  lines.push(
    `indexed       ${r.indexed.documents} documents (${r.indexed.acknowledgedPresent} acknowledged logs found)`,
  );
  lines.push(`missing       ${r.missing}`);
  lines.push(`duplicated    ${r.duplicated}`);
  lines.push(`corrupted     ${r.corrupted}`);
  lines.push(
    `unexpected    ${r.unexpected.documents} documents, ${r.unexpected.refusedButPresent} refused-but-present, ${r.unexpected.foreignIndices.length} other indices`,
  );
  lines.push(`dead-lettered ${r.deadLettered}`);
  lines.push(`catch-up      ${r.catchUpSeconds}s after the traffic ended`);
  lines.push("", "fault                 at(s)  lifted  ready   first ack  indexing  client errors  notes");
  for (const f of r.faults) {
    const col = (v: unknown, w: number) => String(v ?? "-").padEnd(w);
    lines.push(
      `${col(f.kind, 21)} ${col(f.startedAt, 6)} ${col(f.liftedAt, 7)} ${col(f.restoredAt, 7)} ${col(f.firstAckAfterLift === undefined ? undefined : `+${f.firstAckAfterLift}s`, 10)} ${col(f.indexingResumedAfterLift === undefined ? undefined : `+${f.indexingResumedAfterLift}s`, 9)} ${col(f.clientErrors, 14)} ${f.notes.join("; ")}`,
    );
  }
  if (r.unexpectedExits.length > 0)
    lines.push(
      "",
      `unexpected exits: ${r.unexpectedExits.map((e: UnexpectedExit) => `${e.app} at ${e.at}s code ${e.code} signal ${e.signal}`).join("; ")}`,
    );
  lines.push(...printClusterLines(r));
  lines.push("", "throughput (every 5 s): t acked/s indexed/s [fault]");
  const cells = r.throughput.map(
    (s: Sample) => `${s.t}s ${s.ackedPerSec}/${s.indexedPerSec}${s.fault ? ` [${s.fault}]` : ""}`,
  );
  for (let i = 0; i < cells.length; i += 5) lines.push(`  ${cells.slice(i, i + 5).join(" | ")}`);
  lines.push("", "invariants:");
  for (const i of r.invariants) lines.push(`  ${i.ok ? "ok  " : "FAIL"} ${i.name} (${i.detail})`);
  for (const [name, list] of Object.entries(r.samples as Record<string, unknown[]>))
    if (list.length > 0)
      lines.push(
        `  ${name} samples: ${list
          .slice(0, 5)
          .map((x) => JSON.stringify(x))
          .join(", ")}`,
      );
  if (r.dlqSamples.length > 0)
    lines.push(
      `  dead-letter samples: ${r.dlqSamples
        .slice(0, 3)
        .map((x: unknown) => JSON.stringify(x))
        .join(", ")}`,
    );
  console.log(lines.join("\n"));
}
