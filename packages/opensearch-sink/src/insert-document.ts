import type { Client } from "@opensearch-project/opensearch";
import { serialiseOperation, sourceText } from "./bulk-operation.js";
import { classifyRequestError } from "./classify-request-error.js";
import type { BulkOperation, ItemOutcome } from "./types.js";

export interface InsertDocumentOptions {
  signal?: AbortSignal;
  /** `wait_for` makes the document searchable before resolving (tests, low-volume paths). */
  refresh?: boolean | "wait_for";
}

/**
 * SingleInsert mode: one synchronous request per document (`PUT /<index>/_doc/<id>` or `_create/<id>`), for
 * low-volume topics or debugging. Document-level refusals (400 mapping errors, 409 on create) come back as an
 * `ItemOutcome`, exactly as through the bulk sink; whole-request failures (unreachable, 429, 5xx) throw `SinkError`
 * and retrying is up to the caller.
 */
export async function insertDocument(
  client: Client,
  operation: BulkOperation,
  options: InsertDocumentOptions = {},
): Promise<ItemOutcome> {
  const op = serialiseOperation(operation);
  const endpoint = op.action === "create" ? "_create" : "_doc";
  const request = client.transport.request(
    {
      method: "PUT",
      path: `/${encodeURIComponent(op.index)}/${endpoint}/${encodeURIComponent(op.id)}`,
      body: sourceText(op),
      ...(options.refresh === undefined ? {} : { querystring: { refresh: String(options.refresh) } }),
    },
    { ignore: [400, 409] },
  );
  const abort = () => request.abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    const response = await request;
    const status = response.statusCode ?? 0;
    const body = (response.body ?? {}) as {
      result?: string;
      error?: { type?: string; reason?: string; caused_by?: { reason?: string } };
    };
    if (status >= 200 && status < 300) {
      return { status: "indexed", httpStatus: status, ...(body.result ? { result: body.result } : {}) };
    }
    if (status === 409 && op.action === "create") return { status: "duplicate", httpStatus: 409 };
    const error = body.error ?? {};
    const reason = [error.reason, error.caused_by?.reason ? `caused by: ${error.caused_by.reason}` : undefined]
      .filter(Boolean)
      .join("; ");
    return { status: "rejected", httpStatus: status, errorType: error.type ?? "unknown", reason };
  } catch (error) {
    throw classifyRequestError(error, "index request");
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }
}
