import type { Client } from "@opensearch-project/opensearch";
import { classifyRequestError } from "./classify-request-error.js";
import { SinkError } from "./errors.js";

export interface IndexTemplateOptions {
  /** Template name. */
  name: string;
  indexPatterns: string[];
  /** True for DataStream mode: matching names become data streams (writes must use the `create` action). */
  dataStream: boolean;
  /** Component templates, applied in order. Missing ones are created empty (see README). */
  composedOf: string[];
  /** Above 100 to win over the built-in `logs-*-*` templates. */
  priority: number;
  /** Stored in the template's `_meta`. */
  description?: string;
}

export interface EnsureIndexTemplateResult {
  /** Component templates that did not exist and were created as empty placeholders. */
  createdComponentTemplates: string[];
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const PLACEHOLDER_DESCRIPTION =
  "Empty placeholder created by barito-flow because an index template referenced it; put the real shared settings here.";

function invalid(field: string, message: string): SinkError {
  return new SinkError("INVALID_OPERATION", `${field}: ${message}`, { retriable: false, field });
}

function validate(options: IndexTemplateOptions): void {
  if (typeof options !== "object" || options === null) throw invalid("options", "must be an object");
  if (typeof options.name !== "string" || !NAME_PATTERN.test(options.name)) {
    throw invalid("name", "must be lowercase letters, digits, '.', '_' or '-', not starting with a symbol");
  }
  if (!Array.isArray(options.indexPatterns) || options.indexPatterns.length === 0) {
    throw invalid("indexPatterns", "must be a non-empty array of strings");
  }
  options.indexPatterns.forEach((pattern, i) => {
    if (typeof pattern !== "string" || pattern.length === 0 || /\s/.test(pattern)) {
      throw invalid(`indexPatterns[${i}]`, "must be a non-empty string without spaces");
    }
  });
  if (!Array.isArray(options.composedOf)) throw invalid("composedOf", "must be an array of names");
  options.composedOf.forEach((component, i) => {
    if (typeof component !== "string" || !NAME_PATTERN.test(component)) {
      throw invalid(`composedOf[${i}]`, "must be a valid component template name");
    }
  });
  if (!Number.isInteger(options.priority) || options.priority < 0) {
    throw invalid("priority", "must be a non-negative integer");
  }
}

async function componentTemplateExists(client: Client, name: string): Promise<boolean> {
  const response = await client.transport.request(
    { method: "HEAD", path: `/_component_template/${encodeURIComponent(name)}` },
    { ignore: [404] },
  );
  return response.statusCode === 200;
}

async function createEmptyComponentTemplate(client: Client, name: string): Promise<boolean> {
  try {
    // `create=true` so a racing consumer, or an operator's real template, is never overwritten by the placeholder.
    await client.transport.request({
      method: "PUT",
      path: `/_component_template/${encodeURIComponent(name)}`,
      querystring: { create: "true" },
      body: { template: {}, _meta: { description: PLACEHOLDER_DESCRIPTION, managed_by: "barito-flow" } },
    });
    return true;
  } catch (error) {
    const classified = classifyRequestError(error, `create component template ${name}`);
    if (classified.status === 400 && /already exists/i.test(classified.message)) return false;
    throw classified;
  }
}

/**
 * Creates or updates an index template (composable `_index_template`). Idempotent; safe to call from many consumers.
 * A component template named in `composedOf` that does not exist is created empty instead of failing the call: the
 * Go original required it to pre-exist and looped forever otherwise, while an empty one is harmless and can be filled
 * in later (the index template keeps referring to it by name).
 */
export async function ensureIndexTemplate(
  client: Client,
  options: IndexTemplateOptions,
): Promise<EnsureIndexTemplateResult> {
  validate(options);
  const createdComponentTemplates: string[] = [];
  try {
    for (const component of options.composedOf) {
      if (await componentTemplateExists(client, component)) continue;
      if (await createEmptyComponentTemplate(client, component)) createdComponentTemplates.push(component);
    }
    await client.transport.request({
      method: "PUT",
      path: `/_index_template/${encodeURIComponent(options.name)}`,
      body: {
        index_patterns: options.indexPatterns,
        ...(options.dataStream ? { data_stream: {} } : {}),
        composed_of: options.composedOf,
        priority: options.priority,
        _meta: { description: options.description ?? "default template", managed_by: "barito-flow" },
      },
    });
  } catch (error) {
    throw classifyRequestError(error, `ensure index template ${options.name}`);
  }
  return { createdComponentTemplates };
}
