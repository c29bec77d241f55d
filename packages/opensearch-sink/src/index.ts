export { baritoErrorLabel, baritoIndexLabel } from "./barito-error-label.js";
export { fullJitterDelay } from "./backoff.js";
export { indexNameProblem, serialiseOperation } from "./bulk-operation.js";
export type { SerialisedOperation } from "./bulk-operation.js";
export { createBulkSink, systemClock } from "./bulk-sink.js";
export { classifyRequestError, isRetriableStatus } from "./classify-request-error.js";
export { isSinkError, SinkClosedError, SinkError } from "./errors.js";
export type { SinkErrorCode, SinkErrorOptions } from "./errors.js";
export { baritoDataStreamTemplate, ensureIndexTemplate } from "./index-template.js";
export type { EnsureIndexTemplateResult, IndexTemplateOptions } from "./index-template.js";
export { insertDocument } from "./insert-document.js";
export type { InsertDocumentOptions } from "./insert-document.js";
export { createHttpBulkClient } from "./http-bulk-client.js";
export type { HttpBulkClient, HttpBulkClientOptions } from "./http-bulk-client.js";
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
