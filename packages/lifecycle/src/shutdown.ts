import { writeSync } from "node:fs";
import { type Logger, noopLogger } from "@barito-flow/logger";

/** What a service's stop achieved within its deadline. */
export interface StopResult {
  /** Everything accepted was finished (acknowledged downstream, offsets committed). */
  drained: boolean;
  /** Every client finished closing. False when a close was abandoned at its deadline and may still be running. */
  closed: boolean;
}

/** The parts of `process` a shutdown uses; tests pass a fake. */
export interface ProcessPort {
  readonly pid: number;
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  removeAllListeners(signal: NodeJS.Signals): unknown;
  exit(code: number): void;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  abort(): void;
}

export interface ShutdownOptions {
  /** Stops the service; given the time it may take. */
  stop(timeoutMs: number): Promise<StopResult>;
  /** The budget for `stop` (BARITO_SHUTDOWN_TIMEOUT). */
  timeoutMs: number;
  logger?: Logger;
  /** Writes out buffered logs; bounded by `flushTimeoutMs`. */
  flush?: () => Promise<void>;
  /** How long after `timeoutMs` the watchdog ends the process whatever `stop` is doing (default 5 s). */
  watchdogGraceMs?: number;
  flushTimeoutMs?: number;
  /** Signals that start the shutdown; a second one ends the process at once (default SIGTERM, SIGINT). */
  signals?: readonly NodeJS.Signals[];
  /**
   * False: a second signal is ignored. For a cluster worker, which gets Ctrl-C from the terminal and again from its
   * primary, whose own deadline ends it.
   */
  secondSignalEnds?: boolean;
  process?: ProcessPort;
}

export interface Shutdown {
  /** Starts the shutdown once; later calls return the same promise. The process ends when it settles. */
  begin(reason: string, exitCode?: number): Promise<void>;
  readonly stopping: boolean;
}

/** Exit codes: 0 drained and closed, 1 cut short but closed; a forced end is the signal's own status (143, 130). */
const EXIT_CUT_SHORT = 1;

/**
 * Installs the signal handlers and the watchdog of a service's shutdown.
 *
 * Why the forced end re-raises a signal instead of calling `process.exit`: Node's exit joins the libuv threadpool,
 * and a native client can be blocked there waiting for the JavaScript thread (librdkafka's consumer close waits for
 * the revoke that the JavaScript rebalance callback completes). `process.exit` at that moment never returns. A signal
 * with its default action ends the process in the kernel, whatever its threads are doing.
 */
export function installShutdown(options: ShutdownOptions): Shutdown {
  const proc: ProcessPort = options.process ?? process;
  const logger = options.logger ?? noopLogger;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const watchdogMs = options.timeoutMs + (options.watchdogGraceMs ?? 5_000);
  const flushTimeoutMs = options.flushTimeoutMs ?? 1_000;
  let started: Promise<void> | undefined;
  let forcedSignal: NodeJS.Signals = "SIGTERM";
  let ended = false;
  let watchdog: NodeJS.Timeout | undefined;

  function lastWords(message: string, fields: Record<string, unknown>): void {
    // The logger may be asynchronous and the process ends next: one line written synchronously.
    const line = JSON.stringify({ time: new Date().toISOString(), level: "error", msg: message, ...fields });
    try {
      writeSync(2, `${line}\n`);
    } catch {}
  }

  function forceEnd(why: string): void {
    if (ended) return;
    ended = true;
    // A forced end that came first (a second signal) leaves nothing for the watchdog to do.
    clearTimeout(watchdog);
    lastWords("ending the process now", { reason: why, signal: forcedSignal });
    if (proc.pid === 1) {
      // The kernel drops the signals a PID 1 sends itself, but not the fault that abort() ends in when SIGABRT is
      // ignored. An init (tini, `docker run --init`) avoids the question; the images run one.
      proc.abort();
      return;
    }
    for (const signal of signals) proc.removeAllListeners(signal);
    proc.kill(proc.pid, forcedSignal);
    // Reached only if the signal was caught or ignored after all, and only while something else keeps the process up.
    setTimeout(() => proc.kill(proc.pid, "SIGKILL"), 1_000).unref();
  }

  async function flushed(): Promise<void> {
    if (!options.flush) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      options.flush().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, flushTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  function begin(reason: string, exitCode = 0): Promise<void> {
    started ??= (async () => {
      const startedAt = Date.now();
      logger.info("shutting down", { reason, timeoutMs: options.timeoutMs });
      watchdog = setTimeout(() => forceEnd("shutdown timed out"), watchdogMs);
      let result: StopResult;
      try {
        result = await options.stop(options.timeoutMs);
      } catch (err) {
        logger.error("error during shutdown", { err });
        result = { drained: false, closed: true };
      }
      clearTimeout(watchdog);
      if (ended) return;
      const code = result.drained ? exitCode : exitCode || EXIT_CUT_SHORT;
      const fields = { reason, ...result, shutdownMs: Date.now() - startedAt };
      if (!result.drained) logger.warn("shutdown cut short: some work was not finished", fields);
      logger.info("exiting", { ...fields, exitCode: result.closed ? code : `signal ${forcedSignal}` });
      await flushed();
      if (ended) return;
      if (!result.closed) return forceEnd("a client did not finish closing");
      ended = true;
      proc.exit(code);
    })();
    return started;
  }

  for (const signal of signals) {
    proc.on(signal, () => {
      if (started && options.secondSignalEnds === false) return;
      if (started) {
        forcedSignal = signal;
        forceEnd(`second signal (${signal})`);
        return;
      }
      forcedSignal = signal;
      void begin(signal);
    });
  }

  return {
    begin,
    get stopping() {
      return started !== undefined;
    },
  };
}
