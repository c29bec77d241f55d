import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@barito-flow/logger";
import { isSinkError } from "@barito-flow/opensearch-sink";

export interface DataStreamGateOptions {
  /** Makes sure the index template of the data stream `indexPrefix` exists; idempotent. */
  ensure?: (indexPrefix: string) => Promise<void>;
  logger: Logger;
  /** Once true, a failing template check is given up instead of retried. */
  isStopping(): boolean;
}

/** DataStream mode: a data stream's first document waits until its index template exists. */
export interface DataStreamGate {
  /** True once the template of `indexPrefix` is known to exist: its documents need not wait. */
  isReady(indexPrefix: string): boolean;
  /**
   * Resolves once the template exists, retrying while OpenSearch is away. Rejects when it is refused (a
   * non-retriable sink error) or when stopping.
   */
  whenReady(indexPrefix: string): Promise<void>;
}

export function createDataStreamGate(options: DataStreamGateOptions): DataStreamGate {
  const { logger } = options;
  const checks = new Map<string, Promise<void>>();
  const ready = new Set<string>();

  /** One check at a time per data stream; a failed one is forgotten, so the next document tries again. */
  function ensureOnce(prefix: string): Promise<void> {
    let check = checks.get(prefix);
    if (!check && options.ensure) {
      check = options.ensure(prefix).catch((err: unknown) => {
        checks.delete(prefix);
        throw err;
      });
      checks.set(prefix, check);
    }
    return check ?? Promise.resolve();
  }

  return {
    isReady: (prefix) => ready.has(prefix),
    async whenReady(prefix) {
      for (let attempt = 0; ; attempt++) {
        try {
          await ensureOnce(prefix);
          ready.add(prefix);
          return;
        } catch (err) {
          if (options.isStopping() || (isSinkError(err) && !err.retriable)) throw err;
          logger.warn("ensuring the data stream template failed, retrying", { err, prefix, attempt });
          await sleep(Math.min(10_000, 200 * 2 ** Math.min(attempt, 6)));
        }
      }
    },
  };
}
