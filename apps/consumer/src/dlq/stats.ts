// `dlq stats`: dead letters counted by where they came from and why they were refused.
import type { DeadLetter } from "./dead-letter-record.js";

/** Reasons quote values of the document; grouping on their start keeps one line per kind of refusal. */
const reasonKeyLength = 160;

export interface DeadLetterStats {
  total: number;
  /** Records of the topic without barito's headers (not written by a consumer). */
  notDeadLetters: number;
  bySourceTopic: Record<string, number>;
  /** "(not sent)" for records that never reached an index (undecodable), "(unknown)" for older dead letters. */
  byIndex: Record<string, number>;
  byErrorType: Record<string, number>;
  byHttpStatus: Record<string, number>;
  byReason: Record<string, number>;
  /** How many were dead-lettered again by a replay. */
  replayed: number;
  oldest?: string;
  newest?: string;
}

export interface StatsCollector {
  add(deadLetter: DeadLetter): void;
  addForeign(): void;
  result(): DeadLetterStats;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export function createStatsCollector(): StatsCollector {
  const stats: DeadLetterStats = {
    total: 0,
    notDeadLetters: 0,
    bySourceTopic: {},
    byIndex: {},
    byErrorType: {},
    byHttpStatus: {},
    byReason: {},
    replayed: 0,
  };
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  return {
    add(deadLetter) {
      stats.total++;
      bump(stats.bySourceTopic, deadLetter.source.topic);
      bump(stats.byIndex, deadLetter.index ?? (deadLetter.httpStatus === 0 ? "(not sent)" : "(unknown)"));
      bump(stats.byErrorType, deadLetter.errorType);
      bump(stats.byHttpStatus, String(deadLetter.httpStatus));
      bump(stats.byReason, deadLetter.reason.slice(0, reasonKeyLength));
      if (deadLetter.replays > 0) stats.replayed++;
      oldest = Math.min(oldest, deadLetter.deadLetteredAt);
      newest = Math.max(newest, deadLetter.deadLetteredAt);
    },
    addForeign() {
      stats.notDeadLetters++;
    },
    result() {
      return {
        ...stats,
        ...(stats.total > 0 ? { oldest: new Date(oldest).toISOString(), newest: new Date(newest).toISOString() } : {}),
      };
    },
  };
}

/** The readable form: one block per grouping, most frequent first (reasons: the top `maxReasons`). */
export function formatStats(stats: DeadLetterStats, topic: string, maxReasons = 20): string {
  const lines = [`dead letters in ${topic}: ${stats.total}`];
  if (stats.total > 0) lines.push(`  oldest ${stats.oldest}`, `  newest ${stats.newest}`);
  if (stats.replayed > 0) lines.push(`  dead-lettered again by a replay: ${stats.replayed}`);
  if (stats.notDeadLetters > 0)
    lines.push(`  records without barito-dlq headers (not dead letters): ${stats.notDeadLetters}`);
  const block = (title: string, counts: Record<string, number>, max = Number.POSITIVE_INFINITY) => {
    const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (rows.length === 0) return;
    lines.push("", `by ${title}:`);
    for (const [key, count] of rows.slice(0, max)) lines.push(`  ${String(count).padStart(8)}  ${key}`);
    if (rows.length > max) lines.push(`  ... ${rows.length - max} more (--json lists all)`);
  };
  block("source topic", stats.bySourceTopic);
  block("index", stats.byIndex);
  block("error type", stats.byErrorType);
  block("HTTP status", stats.byHttpStatus);
  block("reason", stats.byReason, maxReasons);
  return lines.join("\n");
}
