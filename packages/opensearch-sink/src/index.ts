// The public API: the sink, its port and the two adapters, the template helper, and the error classes. Anything
// else in src/ is internal.
export { createBulkSink } from "./bulk-sink.js";
export { isSinkError, SinkClosedError, SinkError } from "./errors.js";
export type { SinkErrorCode, SinkErrorOptions } from "./errors.js";
export { createHttpBulkClient } from "./http-bulk-client.js";
export type { HttpBulkClient, HttpBulkClientOptions } from "./http-bulk-client.js";
export { ensureIndexTemplate } from "./index-template.js";
export type { EnsureIndexTemplateResult, IndexTemplateOptions } from "./index-template.js";
export { createOpenSearchBulkClient } from "./opensearch-bulk-client.js";
export type { OpenSearchBulkClientOptions } from "./opensearch-bulk-client.js";
export { createOpenSearchClient } from "./opensearch-client.js";
export type { OpenSearchClientOptions, OpenSearchTlsOptions } from "./opensearch-client.js";
export type {
  BulkClient,
  BulkItemError,
  BulkOperation,
  BulkResponseItem,
  BulkSink,
  BulkSinkOptions,
  Clock,
  CloseOptions,
  ClusterHealth,
  FlushStats,
  ItemOutcome,
  RetryOptions,
  SinkHealth,
  SinkHealthState,
  SinkStats,
  TimerHandle,
} from "./types.js";
