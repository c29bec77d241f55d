import type { LogLevel } from "../logger.js";
import type { SerializedError } from "./serialize-error.js";

/** One log entry after sanitising: what both output formats render. */
export interface LogEntry {
  time: Date;
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

const reservedKeys = new Set(["time", "level", "msg"]);

/** One JSON object per line: `time`, `level`, `msg` first, then the fields. Field names never overwrite those three. */
export function formatJsonLine(entry: LogEntry): string {
  const line: Record<string, unknown> = { time: entry.time.toISOString(), level: entry.level, msg: entry.msg };
  for (const [key, value] of Object.entries(entry.fields)) {
    line[reservedKeys.has(key) ? `field_${key}` : key] = value;
  }
  return JSON.stringify(line);
}

const levelColours: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};
const dim = "\x1b[2m";
const reset = "\x1b[0m";

/**
 * Human-readable line for development: `12:00:01.250 INFO  message key=value`. An error's stack follows on indented
 * lines, because a stack squeezed into one line is unreadable and the stack is what a developer needs.
 */
export function formatPrettyLine(entry: LogEntry, colours: boolean): string {
  const paint = (code: string, text: string) => (colours ? `${code}${text}${reset}` : text);
  const time = entry.time.toISOString().slice(11, 23);
  const level = entry.level.toUpperCase().padEnd(5);
  const parts = [paint(dim, time), paint(levelColours[entry.level], level), entry.msg];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(entry.fields)) {
    if (isSerializedError(value)) {
      const code = value.code === undefined ? "" : ` [${value.code}]`;
      parts.push(`${paint(dim, `${key}=`)}${quote(`${value.name}${code}: ${value.message}`)}`);
      if (value.stack) stacks.push(indentStack(value.stack));
      continue;
    }
    parts.push(`${paint(dim, `${key}=`)}${renderValue(value)}`);
  }
  return [parts.join(" "), ...stacks].join("\n");
}

function isSerializedError(value: unknown): value is SerializedError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { message?: unknown }).message === "string" &&
    typeof (value as { stack?: unknown }).stack === "string"
  );
}

function renderValue(value: unknown): string {
  if (typeof value === "string") return quote(value);
  return JSON.stringify(value) ?? String(value);
}

function quote(text: string): string {
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

function indentStack(stack: string): string {
  // The first stack line repeats name and message, which the entry already shows.
  return stack
    .split("\n")
    .slice(1)
    .map((line) => `    ${line.trim()}`)
    .join("\n");
}
