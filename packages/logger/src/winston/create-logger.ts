import type { Writable } from "node:stream";
import winston from "winston";
import { formatJsonLine, formatPrettyLine, type LogEntry } from "./format-entry.js";
import { type LogLevel, type LogMeta, type LogThreshold, type Logger, logLevels } from "../logger.js";
import { sanitizeFields } from "./sanitize.js";
import { isErrorLike } from "./serialize-error.js";

export type LogFormat = "json" | "pretty";

export interface CreateLoggerOptions {
  /** Entries below this level are dropped; `silent` drops everything. Default `info`. */
  level?: LogThreshold;
  /** `json` (one object per line, for production) or `pretty` (coloured single line, for development). */
  format: LogFormat;
  /** Fields on every entry, e.g. `{ service: "barito-producer" }`. */
  base?: LogMeta;
  /** Where lines go. Default `process.stdout`. */
  stream?: Writable;
  /** Colours in `pretty` format. Default: only when the stream is a terminal. */
  colors?: boolean;
  /** Clock for the `time` field; tests inject a fixed one. */
  now?: () => Date;
}

/** The application's root logger: a `Logger` that can also be flushed at shutdown. */
export interface RootLogger extends Logger {
  readonly level: LogThreshold;
  /** Ends the underlying winston pipeline once everything logged so far was written. Idempotent, never hangs. */
  close(): Promise<void>;
}

// winston's info objects are keyed by these well-known symbols (triple-beam); Symbol.for avoids a direct dependency.
const LEVEL = Symbol.for("level");
const MESSAGE = Symbol.for("message");
// The sanitised entry rides along under a private symbol, so meta keys such as `level` cannot clash with winston's.
const ENTRY = Symbol("@barito-flow/logger/entry");

const thresholds: readonly LogThreshold[] = [...logLevels, "silent"];
const closeTimeoutMs = 2_000;

/**
 * Creates the winston-backed logger that applications build once in `main.ts` and hand to libraries as `Logger`.
 *
 * @example
 * const logger = createLogger({ level: "info", format: "json", base: { service: "producer" } });
 * logger.child({ component: "kafka" }).error("publish failed", { err, topic });
 */
export function createLogger(options: CreateLoggerOptions): RootLogger {
  const level = options.level ?? "info";
  if (!thresholds.includes(level)) {
    throw new TypeError(`createLogger: level must be one of ${thresholds.join(", ")}; got ${String(level)}`);
  }
  if (options.format !== "json" && options.format !== "pretty") {
    throw new TypeError(`createLogger: format must be "json" or "pretty"; got ${String(options.format)}`);
  }
  const stream = options.stream ?? process.stdout;
  const colours = options.colors ?? (stream as { isTTY?: boolean }).isTTY === true;
  const now = options.now ?? (() => new Date());
  const render = options.format === "json" ? formatJsonLine : (entry: LogEntry) => formatPrettyLine(entry, colours);

  const renderEntry = winston.format((info) => {
    const carried = (info as unknown as Record<symbol, LogEntry | undefined>)[ENTRY];
    const entry = carried ?? entryFromWinston(info, now);
    (info as unknown as Record<symbol, string>)[MESSAGE] = safeRender(render, entry);
    return info;
  });

  const instance = winston.createLogger({
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    level: level === "silent" ? "error" : level,
    silent: level === "silent",
    // On the logger, not on the transport: otherwise errors passed as the message lose their message (P13).
    format: winston.format.combine(winston.format.errors({ stack: true }), renderEntry()),
    transports: [new winston.transports.Stream({ stream })],
    exitOnError: false,
  });
  // A failing stream must not take the process down through an unhandled 'error' event.
  instance.on("error", () => {});

  const write = (entryLevel: LogLevel, bindings: LogMeta, msg: unknown, meta: LogMeta | undefined) => {
    try {
      if (level === "silent" || !instance.isLevelEnabled(entryLevel)) return;
      const fields: LogMeta = { ...bindings, ...(isRecord(meta) ? meta : {}) };
      let text: string;
      if (isErrorLike(msg)) {
        // JavaScript callers sometimes log the error itself; keep its message and put the details under `err`.
        text = msg.message;
        if (fields.err === undefined) fields.err = msg;
      } else {
        text = typeof msg === "string" ? msg : String(msg);
      }
      const entry: LogEntry = { time: now(), level: entryLevel, msg: text, fields: sanitizeFields(fields) };
      instance.log({ level: entryLevel, message: text, [LEVEL]: entryLevel, [ENTRY]: entry } as winston.LogEntry);
    } catch {
      // Logging is best effort by contract; see Logger.
    }
  };

  const bind = (bindings: LogMeta): Logger => ({
    debug: (msg, meta) => write("debug", bindings, msg, meta),
    info: (msg, meta) => write("info", bindings, msg, meta),
    warn: (msg, meta) => write("warn", bindings, msg, meta),
    error: (msg, meta) => write("error", bindings, msg, meta),
    child: (meta) => bind({ ...bindings, ...(isRecord(meta) ? meta : {}) }),
  });

  let closing: Promise<void> | undefined;
  const root = bind(isRecord(options.base) ? options.base : {});
  return {
    ...root,
    level,
    close() {
      closing ??= new Promise<void>((resolve) => {
        instance.once("finish", () => resolve());
        // Shutdown must not hang on a stuck stream.
        setTimeout(resolve, closeTimeoutMs).unref();
        instance.end();
      });
      return closing;
    },
  };
}

function entryFromWinston(info: winston.Logform.TransformableInfo, now: () => Date): LogEntry {
  // Reached only when someone logs through the winston instance directly (after format.errors has run).
  const { level, message, ...rest } = info;
  const entryLevel = (logLevels as readonly string[]).includes(level) ? (level as LogLevel) : "info";
  return { time: now(), level: entryLevel, msg: String(message), fields: sanitizeFields(rest) };
}

function safeRender(render: (entry: LogEntry) => string, entry: LogEntry): string {
  try {
    return render(entry);
  } catch {
    return JSON.stringify({ time: entry.time.toISOString(), level: entry.level, msg: entry.msg, logError: true });
  }
}

function isRecord(value: unknown): value is LogMeta {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
