// The cluster run's per-fault client figures and the extra lines of its report.
//
// A FAILED REQUEST is an attempt that got no success answer: an error status (5xx, 429), a gRPC error, a timeout,
// or a connection lost after the request left. A connection REFUSED by a replica (nothing sent) is not one: the
// generator sends it to the next replica, as a load balancer does, and counts it as `redirected`.
// A FAILED-REQUEST WINDOW opens when a failed attempt was sent and closes when the first attempt sent after it
// succeeds; overlapping windows merge. Its length is what a client saw as "the service fails".
import type { Monitor } from "./monitor.ts";
import type { FaultClientFigures, FaultRecord } from "./report.ts";
import type { AttemptLog } from "./traffic.ts";

/** Merged failed-request windows [from, to] (ms) of the attempts sent within [from, to]. */
export function failedWindows(log: AttemptLog, from: number, to: number): [number, number][] {
  const order = log.sentAt.map((_, i) => i).sort((a, b) => (log.sentAt[a] as number) - (log.sentAt[b] as number));
  // For each position in send order, the earliest end of a success sent at or after it.
  const earliestSuccessEnd = new Array<number>(order.length + 1).fill(Number.POSITIVE_INFINITY);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k] as number;
    earliestSuccessEnd[k] = Math.min(
      earliestSuccessEnd[k + 1] as number,
      log.ok[i] ? (log.endedAt[i] as number) : Number.POSITIVE_INFINITY,
    );
  }
  const windows: [number, number][] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    const sent = log.sentAt[i] as number;
    if (log.ok[i] || sent < from || sent > to) continue;
    const close = Math.max(log.endedAt[i] as number, Math.min(earliestSuccessEnd[k] as number, to));
    const last = windows.at(-1);
    if (last && sent <= last[1]) last[1] = Math.max(last[1], close);
    else windows.push([sent, close]);
  }
  return windows;
}

/**
 * Milliseconds of the longest wait of a request sent within [from, to] until ANY request succeeded: a stall of the
 * service as the clients see it, with or without errors (a leader election makes requests slow, not failed).
 */
export function longestAckStall(log: AttemptLog, from: number, to: number): number {
  const successEnds = log.endedAt.filter((_, i) => log.ok[i]).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 0; i < log.sentAt.length; i++) {
    const sent = log.sentAt[i] as number;
    if (sent < from || sent > to) continue;
    let lo = 0;
    let hi = successEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((successEnds[mid] as number) < sent) lo = mid + 1;
      else hi = mid;
    }
    const next = successEnds[lo] ?? to;
    longest = Math.max(longest, Math.min(next, Math.max(to, log.endedAt[i] as number)) - sent);
  }
  return longest;
}

export function faultClientFigures(record: FaultRecord, log: AttemptLog, monitor: Monitor): FaultClientFigures {
  const from = record.startedAtMs ?? 0;
  const to = record.endedAtMs ?? Date.now();
  let attempts = 0;
  let failed = 0;
  for (let i = 0; i < log.sentAt.length; i++) {
    const sent = log.sentAt[i] as number;
    if (sent < from || sent > to) continue;
    attempts++;
    if (!log.ok[i]) failed++;
  }
  const longest = failedWindows(log, from, to).reduce((max, [a, b]) => Math.max(max, b - a), 0);
  return {
    attempts,
    failed,
    errorRate: attempts === 0 ? 0 : Math.round((failed / attempts) * 10_000) / 10_000,
    longestFailedWindow: Math.round(longest / 100) / 10,
    longestAckStall: Math.round(longestAckStall(log, from, to) / 100) / 10,
    longestIndexingStall: Math.round(monitor.longestStall(from, to) / 100) / 10,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the report is printed field by field
export function printClusterLines(r: any): string[] {
  if (!r.cluster) return [];
  const lines = ["", "per fault (client side)  attempts  failed  error rate  failed window  ack stall  indexing stall"];
  for (const f of r.faults as FaultRecord[]) {
    if (!f.client) continue;
    const c = f.client;
    lines.push(
      `  ${f.kind.padEnd(22)} ${String(c.attempts).padStart(9)}  ${String(c.failed).padStart(6)}  ${`${(c.errorRate * 100).toFixed(2)}%`.padStart(10)}  ${`${c.longestFailedWindow}s`.padStart(13)}  ${`${c.longestAckStall}s`.padStart(9)}  ${`${c.longestIndexingStall}s`.padStart(14)}`,
    );
  }
  const k = r.cluster.kafkaCopies;
  if (k)
    lines.push(
      "",
      `kafka copies  ${k.records} records in the log topics; ${k.duplicatesOfSingleAttempts} duplicates of logs sent once (must be 0), ${k.duplicatesOfRetried} extra copies of logs whose request was retried, ${k.foreign} foreign`,
    );
  lines.push(
    `load          sent ${r.cluster.offeredRate} logs/s (paced at ${r.options.rate}); acknowledged ${r.cluster.ackedRate} logs/s over ${r.cluster.trafficSeconds}s; ${r.cluster.redirected} attempts refused at connect and sent to the next replica`,
  );
  const cpu = r.cluster.cpu as Record<
    string,
    { seconds: number; idleSeconds: number; perLogMicros: number; netPerLogMicros: number }
  >;
  if (cpu)
    lines.push(
      `cpu           ${Object.entries(cpu)
        .map(
          ([name, v]) =>
            `${name} ${v.seconds}s = ${v.perLogMicros} µs/log (${v.netPerLogMicros} µs/log without ${v.idleSeconds}s idle)`,
        )
        .join(", ")}`,
    );
  return lines;
}
