export { createPushMetrics } from "./push-metrics.js";
export type { FetchLike, PushMetrics, PushMetricsOptions, PushResult } from "./push-metrics.js";
