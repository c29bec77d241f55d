export {
  ConsulError,
  createConsulClient,
  elasticsearchUrls,
  hostPort,
  kafkaBrokers,
  normaliseConsulUrl,
  redisUrl,
} from "./consul-client.js";
export type {
  ConsulClient,
  ConsulClientOptions,
  ConsulErrorCode,
  FetchLike,
  ServiceInstance,
} from "./consul-client.js";
export { createServiceResolver } from "./service-resolver.js";
export type { ServiceResolver, ServiceResolverOptions } from "./service-resolver.js";
export { discoverServices } from "./discover-services.js";
export type { DiscoveredServices, DiscoverServicesOptions } from "./discover-services.js";
