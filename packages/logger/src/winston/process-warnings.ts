import type { EventEmitter } from "node:events";
import type { Logger } from "../logger.js";

/** The part of `process` this needs; tests pass an EventEmitter. */
export type WarningSource = Pick<EventEmitter, "listeners" | "removeListener" | "on">;

/**
 * Sends Node's process warnings (deprecations, MaxListenersExceeded, experimental features, a library's
 * `process.emitWarning`) through the logger instead of Node's own printer, which writes them to stderr over several
 * lines (the stack too with --trace-warnings): in JSON mode each becomes one entry with the stack as a field of
 * `err`. Returns a function that puts Node's printer back. For `main.ts`, which owns the process.
 */
export function logProcessWarnings(logger: Logger, source: WarningSource = process): () => void {
  const printers = source.listeners("warning");
  for (const printer of printers) source.removeListener("warning", printer as (...args: unknown[]) => void);
  const listener = (warning: Error) => {
    const code = (warning as { code?: unknown }).code;
    logger.warn(warning.message, { warning: warning.name, ...(code === undefined ? {} : { code }), err: warning });
  };
  source.on("warning", listener);
  return () => {
    source.removeListener("warning", listener as (...args: unknown[]) => void);
    for (const printer of printers) source.on("warning", printer as (...args: unknown[]) => void);
  };
}
