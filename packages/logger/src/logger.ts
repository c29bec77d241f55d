/** Structured fields attached to one entry (or bound to a child logger). Values may be anything; they are sanitised. */
export type LogMeta = Record<string, unknown>;

/** Severity levels, most verbose first. `silent` is only a threshold: it switches every entry off. */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogThreshold = LogLevel | "silent";

export const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * The logging port every library depends on. Implementations never throw from these methods: a log call must not be
 * able to break the request it describes.
 */
export interface Logger {
  debug(msg: string, meta?: LogMeta): void;
  info(msg: string, meta?: LogMeta): void;
  warn(msg: string, meta?: LogMeta): void;
  /** Pass the error as `{ err }`; it is serialised as `{ name, message, code, stack }`. */
  error(msg: string, meta?: LogMeta): void;
  /** A logger that adds `meta` to every entry, e.g. `logger.child({ component: "rate-limit" })`. */
  child(meta: LogMeta): Logger;
}

function ignore(): void {}

/** Discards everything; the default for libraries when the caller passes no logger. */
export const noopLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => noopLogger,
});
