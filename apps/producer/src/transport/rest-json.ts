import type { JsonObject } from "@bufbuild/protobuf";
import type { Timber, TimberCollection, TimberContext } from "@barito-flow/proto";

// The REST bodies' common shape read straight from the parsed JSON, without protobuf-es `fromJson` (which copied every
// log's content into a new object and, with GC, took a fifth of the producer's CPU at batch load). Only the plain,
// unambiguous shape is accepted here: `{"context": {...}, "items": [{"content": {...}}, ...]}` (or `content` for one
// log) with JSON types that `fromJson` would take as they are. Anything else (unknown or duplicate keys, numbers as
// strings, nulls, an item timestamp, ...) returns undefined and goes through `fromJson`, which gives the same message
// or the same error text as before.

type FieldKind = "string" | "int32" | "bool";
type ContextKey = Exclude<keyof TimberContext, "$typeName" | "$unknown">;

const contextFields = new Map<string, { name: ContextKey; kind: FieldKind }>();
for (const [jsonName, name, kind] of [
  ["kafka_topic", "kafkaTopic", "string"],
  ["kafka_partition", "kafkaPartition", "int32"],
  ["kafka_replication_factor", "kafkaReplicationFactor", "int32"],
  ["es_index_prefix", "esIndexPrefix", "string"],
  ["es_document_type", "esDocumentType", "string"],
  ["app_max_tps", "appMaxTps", "int32"],
  ["app_secret", "appSecret", "string"],
  ["disable_app_tps", "disableAppTps", "bool"],
  ["app_group_max_tps", "appGroupMaxTps", "int32"],
] as const) {
  contextFields.set(jsonName, { name, kind });
  contextFields.set(name, { name, kind });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fitsKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
    default:
      return typeof value === "number" && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647;
  }
}

function plainContext(json: unknown): TimberContext | undefined {
  if (!isObject(json)) return undefined;
  const context: TimberContext = {
    $typeName: "producer.TimberContext",
    kafkaTopic: "",
    kafkaPartition: 0,
    kafkaReplicationFactor: 0,
    esIndexPrefix: "",
    esDocumentType: "",
    appMaxTps: 0,
    appSecret: "",
    disableAppTps: false,
    appGroupMaxTps: 0,
  };
  const seen = new Set<ContextKey>();
  for (const key of Object.keys(json)) {
    const field = contextFields.get(key);
    const value = json[key];
    if (field === undefined || seen.has(field.name) || !fitsKind(value, field.kind)) return undefined;
    seen.add(field.name);
    (context as unknown as Record<string, unknown>)[field.name] = value;
  }
  return context;
}

function plainTimber(content: JsonObject, context?: TimberContext): Timber {
  return { $typeName: "producer.Timber", context, timestamp: "", content };
}

/** `{"context": {...}, "content": {...}}` as a Timber, or undefined when `fromJson` must decide. */
export function plainTimberFromJson(json: Record<string, unknown>): Timber | undefined {
  let count = 0;
  for (const key in json) {
    if (key !== "context" && key !== "content") return undefined;
    count++;
  }
  if (count !== 2 || !isObject(json.content)) return undefined;
  const context = plainContext(json.context);
  return context && plainTimber(json.content as JsonObject, context);
}

/** `{"context": {...}, "items": [{"content": {...}}, ...]}` as a TimberCollection, or undefined (use `fromJson`). */
export function plainCollectionFromJson(json: Record<string, unknown>): TimberCollection | undefined {
  let count = 0;
  for (const key in json) {
    if (key !== "context" && key !== "items") return undefined;
    count++;
  }
  const rawItems = json.items;
  if (count !== 2 || !Array.isArray(rawItems)) return undefined;
  const context = plainContext(json.context);
  if (context === undefined) return undefined;
  const items: Timber[] = new Array(rawItems.length);
  for (let i = 0; i < rawItems.length; i++) {
    const item: unknown = rawItems[i];
    if (!isObject(item)) return undefined;
    let keys = 0;
    for (const key in item) {
      if (key !== "content") return undefined;
      keys++;
    }
    if (keys !== 1 || !isObject(item.content)) return undefined;
    items[i] = plainTimber(item.content as JsonObject);
  }
  return { $typeName: "producer.TimberCollection", context, items };
}
