import { describe, expect, it } from "@jest/globals";
import { parseDlqArgs, parseTime, UsageError } from "./options.js";

const now = Date.parse("2026-07-08T12:00:00Z");

describe("parseDlqArgs()", () => {
  it("reads the filters, absolute and relative times, and the switches", () => {
    const options = parseDlqArgs(
      [
        "replay",
        "--source-topic",
        "shop_logs",
        "--error-type=mapper_parsing_exception",
        "--since",
        "6h",
        "--until",
        "2026-07-08T11:00:00Z",
        "--dry-run",
        "--json",
      ],
      now,
    );
    expect(options).toMatchObject({
      command: "replay",
      filter: {
        sourceTopic: "shop_logs",
        errorType: "mapper_parsing_exception",
        since: now - 6 * 3_600_000,
        until: Date.parse("2026-07-08T11:00:00Z"),
      },
      dryRun: true,
      json: true,
      limit: 100,
      progressIntervalMs: 5_000,
      idleTimeoutMs: 30_000,
    });
  });

  it("names the replay's selection by the flags as written, so the same command resumes", () => {
    const a = parseDlqArgs(["replay", "--since", "6h"], now);
    const b = parseDlqArgs(["replay", "--since", "6h"], now + 60_000);
    expect(a.filterKey).toBe(b.filterKey);
    expect(parseDlqArgs(["replay", "--since", "7h"], now).filterKey).not.toBe(a.filterKey);
  });

  it.each([
    [[], "a dlq command is missing"],
    [["purge"], "unknown dlq command 'purge'"],
    [["show", "--limit", "0"], "--limit: '0' is not a positive integer"],
    [["show", "--limit"], "--limit needs a value"],
    [["stats", "--dry-run"], "--dry-run is an option of 'dlq replay' only"],
    [["replay", "--limit", "3"], "--limit is an option of 'dlq show' only"],
    [["show", "--colour"], "unknown option '--colour'"],
    [["show", "--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 time"],
    [["show", "--since", "1h", "--until", "2h"], "--since must be before --until"],
    [["replay", "--progress-interval", "5"], "--progress-interval: '5' is not a duration"],
  ])("refuses %j: %s", (args, message) => {
    expect(() => parseDlqArgs(args as string[], now)).toThrow(UsageError);
    expect(() => parseDlqArgs(args as string[], now)).toThrow(message);
  });
});

describe("parseTime()", () => {
  it("takes dates, date-times and durations before now", () => {
    expect(parseTime("--since", "2026-07-01", now)).toBe(Date.parse("2026-07-01"));
    expect(parseTime("--since", "30m", now)).toBe(now - 1_800_000);
    expect(parseTime("--since", "2d", now)).toBe(now - 2 * 86_400_000);
  });
});
