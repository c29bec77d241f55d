import type { IndexTemplateOptions } from "@barito-flow/opensearch-sink";

/**
 * The index template barito-flow's DataStream mode creates for one index prefix (barito-flow.md §7.5):
 * `<prefix>-template` over the pattern `<prefix>`, a data stream, composed of the configured component template,
 * priority 200 (above the built-in `logs-*-*` templates at 100).
 */
export function baritoDataStreamTemplate(indexPrefix: string, componentTemplate: string): IndexTemplateOptions {
  return {
    name: `${indexPrefix}-template`,
    indexPatterns: [indexPrefix],
    dataStream: true,
    composedOf: componentTemplate ? [componentTemplate] : [],
    priority: 200,
    description: "default template",
  };
}
