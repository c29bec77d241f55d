import type { Writable } from "node:stream";
import { inspect } from "node:util";
import winston from "winston";
import type { LogLevel, LogMeta, LogThreshold, Logger } from "./logger.js";
import { sanitizeFields } from "./sanitize.js";

export type LogFormat = "json" | "pretty";

export interface CreateLoggerOptions {
  /** Lowest level written; `silent` writes nothing. Default `info`. */
  level?: LogThreshold;
  /** `json`: one JSON object per line (production). `pretty`: one readable line per entry (development). */
  format?: LogFormat;
  /** Fields added to every entry, e.g. `{ service: "barito-producer" }`. Sanitised like any other field. */
  base?: LogMeta;
  /** Where entries go. Default `process.stdout`. Tests pass a stream and read what was written. */
  stream?: Writable;
  /** ANSI colours in `pretty` format. Default: only when the stream is a TTY. */
  colors?: boolean;
  /** Clock for the `time` field; tests pin it. */
  now?: () => Date;
}

/** A root logger: the usual methods plus `close()`, which waits until everything written so far is flushed. */
export interface RootLogger extends Logger {
  readonly level: LogThreshold;
  close(): Promise<void>;
}

const winstonLevels: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
// Entry fields live under this symbol so a meta key called `level` or `message` cannot clash with winston's own.
const fieldsKey = Symbol("barito.fields");
const timeKey = Symbol("barito.time");

interface Entry extends winston.Logform.TransformableInfo {
  [fieldsKey]?: Record<string, unknown>;
  [timeKey]?: Date;
}

const reserved = new Set(["time", "level", "msg"]);

function renderJson(entry: Entry): string {
  const time = entry[timeKey] ?? new Date();
  const line: Record<string, unknown> = {
    time: time.toISOString(),
    level: entry.level,
    msg: typeof entry.message === "string" ? entry.message : String(entry.message),
  };
  for (const [key, value] of Object.entries(entry[fieldsKey] ?? {})) {
    // A field named like a core key is kept, but renamed, so `time`/`level`/`msg` stay trustworthy for log shippers.
    line[reserved.has(key) ? `field.${key}` : key] = value;
  }
  try {
    return JSON.stringify(line);
  } catch {
    return JSON.stringify({ time: line.time, level: line.level, msg: line.msg, logError: "unserializable fields" });
  }
}

const ansi = {
  reset: "\x1b[0m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  green: "\x1b[32m",
  blue: "\x1b[34m",
};
const levelColours: Record<string, string> = { error: ansi.red, warn: ansi.yellow, info: ansi.green, debug: ansi.blue };

function renderPretty(entry: Entry, colors: boolean): string {
  const time = (entry[timeKey] ?? new Date()).toISOString().slice(11, 23);
  const level = entry.level.toUpperCase().padEnd(5);
  const paint = (colour: string | undefined, text: string) =>
    colors && colour ? `${colour}${text}${ansi.reset}` : text;
  const parts = [paint(ansi.dim, time), paint(levelColours[entry.level], level), String(entry.message)];
  for (const [key, value] of Object.entries(entry[fieldsKey] ?? {})) {
    parts.push(`${paint(ansi.dim, `${key}=`)}${formatPrettyValue(value)}`);
  }
  return parts.join(" ");
}

function formatPrettyValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  if (isSerializedError(value)) {
    const code = value.code === undefined ? "" : ` [${String(value.code)}]`;
    return JSON.stringify(`${value.name}: ${value.message}${code}`);
  }
  return inspect(value, { breakLength: Number.POSITIVE_INFINITY, depth: 4, colors: false });
}

function isSerializedError(value: unknown): value is { name: string; message: string; code?: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { message?: unknown }).message === "string" &&
    "stack" in value
  );
}

/**
 * Creates the process's root logger over winston. Only applications call this; libraries accept a `Logger`.
 * Every entry is sanitised first (secret-looking keys redacted, bigints as strings, errors as
 * `{name, message, code, stack}`), and no logging call throws.
 */
export function createLogger(options: CreateLoggerOptions = {}): RootLogger {
  const threshold: LogThreshold = options.level ?? "info";
  const format: LogFormat = options.format ?? "json";
  const stream = options.stream ?? process.stdout;
  const colors = options.colors ?? Boolean((stream as { isTTY?: boolean }).isTTY);
  const now = options.now ?? (() => new Date());

  const render = winston.format((info) => {
    const entry = info as Entry;
    entry[Symbol.for("message")] = format === "json" ? renderJson(entry) : renderPretty(entry, colors);
    return entry;
  });

  const transport = new winston.transports.Stream({ stream });
  const winstonLogger = winston.createLogger({
    levels: winstonLevels,
    level: threshold === "silent" ? "error" : threshold,
    silent: threshold === "silent",
    // On the logger, not the transport: winston otherwise loses the message of an Error passed as the message.
    format: winston.format.combine(winston.format.errors({ stack: true }), render()),
    transports: [transport],
    exitOnError: false,
  });
  // A broken stdout must not crash the process through an unhandled 'error' event.
  winstonLogger.on("error", () => {});

  const write = (level: LogLevel, bound: LogMeta, msg: string, meta: LogMeta | undefined): void => {
    try {
      if (threshold === "silent" || winstonLevels[level] > winstonLevels[threshold]) return;
      const fields = sanitizeFields(meta === undefined ? bound : { ...bound, ...meta });
      winstonLogger.log({
        level,
        message: typeof msg === "string" ? msg : String(msg),
        [fieldsKey]: fields,
        [timeKey]: now(),
      } as Entry);
    } catch {
      // Logging is best effort: an entry that cannot be written is dropped rather than failing the caller.
    }
  };

  const make = (bound: LogMeta): Logger => ({
    debug: (msg, meta) => write("debug", bound, msg, meta),
    info: (msg, meta) => write("info", bound, msg, meta),
    warn: (msg, meta) => write("warn", bound, msg, meta),
    error: (msg, meta) => write("error", bound, msg, meta),
    child: (meta) => make({ ...bound, ...meta }),
  });

  const root = make({ ...(options.base ?? {}) });
  return {
    ...root,
    level: threshold,
    close: () =>
      new Promise<void>((resolve) => {
        let settled = false;
        const done = () => {
          if (!settled) {
            settled = true;
            resolve();
          }
        };
        winstonLogger.once("finish", done);
        winstonLogger.end();
        // Never hang shutdown on a stuck stream.
        setTimeout(done, 2_000).unref();
      }),
  };
}
