// The command line of `barito-flow dlq stats|show|replay`: flags, filters and their errors.
import type { DeadLetter } from "./dead-letter-record.js";

export type DlqCommand = "stats" | "show" | "replay";

export interface DeadLetterFilter {
  sourceTopic?: string;
  errorType?: string;
  /** Dead-lettered at or after, ms since the epoch. */
  since?: number;
  /** Dead-lettered before, ms since the epoch. */
  until?: number;
}

export interface DlqOptions {
  command: DlqCommand;
  filter: DeadLetterFilter;
  /** `show`: records printed at most. */
  limit: number;
  json: boolean;
  /** `replay`: print what would be done, change nothing. */
  dryRun: boolean;
  /** `replay`: the consumer group that remembers how far the replay got. */
  group?: string;
  /** `replay`: one progress line this often. */
  progressIntervalMs: number;
  /** Ends the read when no record arrived for this long although the end was not reached. */
  idleTimeoutMs: number;
  /**
   * The filters as written (a relative `--since 6h` stays `6h`): a replay's default group is named after it, so the
   * same command run again resumes where it stopped, and another selection keeps a group of its own.
   */
  filterKey: string;
}

export class UsageError extends Error {
  readonly code = "USAGE";
  override name = "UsageError";
}

export const dlqUsage = `Usage: barito-flow dlq <stats|show|replay> [options]
  --source-topic T   only dead letters of log topic T
  --error-type E     only dead letters with barito-dlq-error-type E
  --since TIME       dead-lettered at or after TIME (ISO 8601, or 30m / 6h / 2d ago)
  --until TIME       dead-lettered before TIME
  --json             NDJSON on stdout (show, the summaries of stats and replay)
  --limit N          show: at most N records (default 100)
  --dry-run          replay: print what would be indexed, index, write and commit nothing
  --group G          replay: its consumer group (default: <BARITO_KAFKA_GROUP_ID>-dlq-replay-<hash of the filters>)
  --progress-interval DURATION   replay: a progress line this often (default 5s)
  --idle-timeout DURATION        end when nothing arrives this long before the end (default 30s)`;

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(flag: string, value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new UsageError(`${flag}: '${value}' is not a duration such as 500ms, 30s, 5m, 6h or 2d`);
  return Number(match[1]) * (units[match[2] as string] as number);
}

/** An ISO 8601 date or date-time, or a duration meaning that long before `now`. */
export function parseTime(flag: string, value: string, now: number): number {
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return now - duration(flag, value);
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at))
    throw new UsageError(`${flag}: '${value}' is neither an ISO 8601 time (2026-07-08T09:00:00Z) nor a duration (6h)`);
  return at;
}

const valued = new Set([
  "--source-topic",
  "--error-type",
  "--since",
  "--until",
  "--limit",
  "--group",
  "--progress-interval",
  "--idle-timeout",
]);
const switches = new Set(["--json", "--dry-run"]);

/** Parses `dlq`'s arguments (after the word `dlq`); throws `UsageError` with the flag at fault. */
export function parseDlqArgs(args: readonly string[], now = Date.now()): DlqOptions {
  const [command, ...rest] = args;
  if (command !== "stats" && command !== "show" && command !== "replay")
    throw new UsageError(command ? `unknown dlq command '${command}'` : "a dlq command is missing");
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (switches.has(name) && eq < 0) flags.add(name);
    else if (valued.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
      values.set(name, value);
    } else throw new UsageError(`unknown option '${arg}'`);
  }
  if (command !== "replay")
    for (const name of ["--dry-run", "--group", "--progress-interval"])
      if (flags.has(name) || values.has(name)) throw new UsageError(`${name} is an option of 'dlq replay' only`);
  if (command !== "show" && values.has("--limit")) throw new UsageError("--limit is an option of 'dlq show' only");

  const filter: DeadLetterFilter = {};
  const sourceTopic = values.get("--source-topic");
  if (sourceTopic) filter.sourceTopic = sourceTopic;
  const errorType = values.get("--error-type");
  if (errorType) filter.errorType = errorType;
  const since = values.get("--since");
  if (since) filter.since = parseTime("--since", since, now);
  const until = values.get("--until");
  if (until) filter.until = parseTime("--until", until, now);
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until)
    throw new UsageError("--since must be before --until");
  const limitText = values.get("--limit") ?? "100";
  if (!/^[1-9]\d{0,8}$/.test(limitText)) throw new UsageError(`--limit: '${limitText}' is not a positive integer`);
  const group = values.get("--group");
  return {
    command,
    filter,
    limit: Number(limitText),
    json: flags.has("--json"),
    dryRun: flags.has("--dry-run"),
    ...(group ? { group } : {}),
    progressIntervalMs: duration("--progress-interval", values.get("--progress-interval") ?? "5s"),
    idleTimeoutMs: duration("--idle-timeout", values.get("--idle-timeout") ?? "30s"),
    filterKey: JSON.stringify(
      ["--source-topic", "--error-type", "--since", "--until"].map((f) => values.get(f) ?? null),
    ),
  };
}

export function matchesFilter(deadLetter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.sourceTopic !== undefined && deadLetter.source.topic !== filter.sourceTopic) return false;
  if (filter.errorType !== undefined && deadLetter.errorType !== filter.errorType) return false;
  if (filter.since !== undefined && deadLetter.deadLetteredAt < filter.since) return false;
  if (filter.until !== undefined && deadLetter.deadLetteredAt >= filter.until) return false;
  return true;
}
