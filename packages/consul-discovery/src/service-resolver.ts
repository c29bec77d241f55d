import { type Logger, noopLogger } from "@barito-flow/logger";

export interface ServiceResolverOptions<T> {
  /** What the resolver names in its logs (the Consul service). */
  service: string;
  /** One lookup (e.g. `consul.passingInstances(name).then(kafkaBrokers)`). */
  lookup: () => Promise<T>;
  /** Lookups closer together than this return the last answer instead. Default 5,000 ms. */
  minIntervalMs?: number;
  /** Compares answers, to tell `onChange` only of real changes. Default: JSON equality. */
  equal?: (a: T, b: T) => boolean;
  /** Called with each answer that differs from the last one (not with the first). */
  onChange?: (value: T, previous: T) => void;
  logger?: Logger;
  clock?: () => number;
}

export interface ServiceResolver<T> {
  /** The first answer: rejects with the lookup's error (e.g. a ConsulError NO_INSTANCES), so startup can say why. */
  resolve(): Promise<T>;
  /**
   * A fresh answer for a client whose connection failed: at most one lookup per `minIntervalMs`, concurrent callers
   * share it. A failed lookup keeps (and resolves with) the last answer, logged, never thrown; undefined if there
   * was never one.
   */
  refresh(): Promise<T | undefined>;
  /** The last answer, if any. */
  current(): T | undefined;
}

/** A cached, rate-limited lookup: clients call `refresh()` when their connections fail, as often as they like. */
export function createServiceResolver<T>(options: ServiceResolverOptions<T>): ServiceResolver<T> {
  const { service, lookup } = options;
  const minIntervalMs = options.minIntervalMs ?? 5_000;
  const equal = options.equal ?? ((a: T, b: T) => JSON.stringify(a) === JSON.stringify(b));
  const logger = options.logger ?? noopLogger;
  const now = options.clock ?? Date.now;
  let value: T | undefined;
  let lastLookupAt = Number.NEGATIVE_INFINITY;
  let running: Promise<T | undefined> | undefined;

  function accept(next: T): T {
    const previous = value;
    value = next;
    if (previous !== undefined && !equal(previous, next)) {
      logger.info("service instances changed", { service, instances: next });
      options.onChange?.(next, previous);
    }
    return next;
  }

  return {
    async resolve() {
      lastLookupAt = now();
      return accept(await lookup());
    },
    refresh() {
      if (running) return running;
      if (now() - lastLookupAt < minIntervalMs) return Promise.resolve(value);
      lastLookupAt = now();
      running = lookup()
        .then(accept, (err: unknown) => {
          logger.warn("service lookup failed; keeping the last instances", { service, err, instances: value });
          return value;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    current: () => value,
  };
}
