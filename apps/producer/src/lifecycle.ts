/**
 * The producer's forced exit: the one way out when shutdown cannot finish (its deadline passed, or a second signal).
 *
 * `process.exit` is not enough on its own: Node's exit path calls `uv_library_shutdown`, which joins libuv's thread
 * pool, so it waits for whatever native call runs there. The Kafka client's flush and disconnect run there
 * (`ProducerFlush`, `ProducerDisconnect`: rd_kafka_flush with a timeout, rd_kafka_destroy), and a call that never
 * returns keeps a process that already "exited" alive forever (the consumer's hang of issue 13: main thread in
 * `uv__threadpool_cleanup` → `uv_thread_join`). So `process.exit` is used only when no such call is known to run;
 * otherwise the process ends itself without that join: SIGKILL to itself, or, as PID 1 of a container (which the
 * kernel does not let kill itself), `process.abort()`, which ends in SIGABRT or in glibc's fallback (SIGSEGV).
 * Either way the exit status is non-zero, which is what a cut-short shutdown must report.
 *
 * Kept to this one function so it can be swapped for the project's shared mechanism.
 */
export function forceExit(code: number, nativeCallsRunning: () => boolean, log: (message: string) => void): void {
  process.exitCode = code;
  if (!nativeCallsRunning()) {
    process.exit(code);
    return;
  }
  log("a native Kafka call is still running: ending the process without waiting for it");
  if (process.pid !== 1) process.kill(process.pid, "SIGKILL");
  process.abort();
}

/** Counts native calls in flight (flush, disconnect), for `forceExit`. */
export function nativeCallTracker() {
  let running = 0;
  return {
    running: () => running > 0,
    track<T>(call: () => Promise<T>): Promise<T> {
      running++;
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (err) {
        pending = Promise.reject(err);
      }
      return pending.finally(() => {
        running--;
      });
    },
  };
}
