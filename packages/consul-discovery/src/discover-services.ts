import { type Logger, noopLogger } from "@barito-flow/logger";
import { createConsulClient, elasticsearchUrls, type FetchLike, kafkaBrokers, redisUrl } from "./consul-client.js";
import { createServiceResolver, type ServiceResolver } from "./service-resolver.js";

export interface DiscoverServicesOptions {
  /** BARITO_CONSUL_URL. */
  consulUrl: string;
  /** Consul service names of what is to be resolved; a service left out is not looked up. */
  kafka?: string | undefined;
  elasticsearch?: string | undefined;
  redis?: string | undefined;
  /** Least time between two lookups of one service when clients ask again (default 5,000 ms). */
  minIntervalMs?: number;
  fetch?: FetchLike;
  logger?: Logger;
}

export interface DiscoveredServices {
  /** Bootstrap brokers, `host:port`. */
  kafka?: ServiceResolver<string[]>;
  /** Node URLs, scheme from ServiceMeta `http_schema`. */
  elasticsearch?: ServiceResolver<string[]>;
  /** `redis://host:port` of the first passing instance. */
  redis?: ServiceResolver<string>;
}

/**
 * The startup lookups of barito-flow's Consul discovery (reference §10), all at once: resolves once every service
 * asked for has passing instances, rejects with the first `ConsulError` otherwise (NO_INSTANCES names the service).
 * The resolvers are then the clients' `refresh()` for when their connections fail.
 */
export async function discoverServices(options: DiscoverServicesOptions): Promise<DiscoveredServices> {
  const consul = createConsulClient({ url: options.consulUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const logger = (options.logger ?? noopLogger).child({ component: "consul" });
  function resolverOf<T>(
    service: string,
    toValue: (instances: Awaited<ReturnType<typeof consul.passingInstances>>) => T,
  ) {
    return createServiceResolver({
      service,
      lookup: () => consul.passingInstances(service).then(toValue),
      logger,
      ...(options.minIntervalMs !== undefined ? { minIntervalMs: options.minIntervalMs } : {}),
    });
  }
  const found: DiscoveredServices = {};
  if (options.kafka !== undefined) found.kafka = resolverOf(options.kafka, kafkaBrokers);
  if (options.elasticsearch !== undefined) found.elasticsearch = resolverOf(options.elasticsearch, elasticsearchUrls);
  if (options.redis !== undefined) found.redis = resolverOf(options.redis, redisUrl);
  await Promise.all([found.kafka?.resolve(), found.elasticsearch?.resolve(), found.redis?.resolve()]);
  for (const [name, resolver] of Object.entries(found) as Array<[string, ServiceResolver<unknown>]>) {
    logger.info("resolved from Consul", { service: name, instances: resolver.current() });
  }
  return found;
}
