import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { type Timber, type TimberCollection, TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { type FieldViolation, ProduceError } from "../produce/produce-error.js";
import { plainCollectionFromJson, plainTimberFromJson } from "./rest-json.js";

export interface ErrorBody {
  code: string;
  message: string;
  details: FieldViolation[];
}

/** The REST error body, `{"code", "message", "details"}`, in that key order. */
export function errorBody(code: string, message: string, details: FieldViolation[] = []): ErrorBody {
  return { code, message, details };
}

/**
 * Reads a REST JSON body into a proto message, naming the offending field when the shape is wrong. The common shape
 * is read without `fromJson` (see rest-json.ts); whatever that declines goes through `fromJson`.
 */
export function parseBody(kind: "collection", text: string): TimberCollection;
export function parseBody(kind: "timber", text: string): Timber;
export function parseBody(kind: "collection" | "timber", text: string): TimberCollection | Timber {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw ProduceError.invalid([{ field: "body", reason: `invalid JSON: ${(err as Error).message}` }]);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw ProduceError.invalid([{ field: "body", reason: "must be a JSON object" }]);
  }
  const object = json as Record<string, unknown>;
  const message = kind === "collection" ? plainCollectionFromJson(object) : plainTimberFromJson(object);
  if (message !== undefined) return message;
  try {
    return kind === "collection"
      ? fromJson(TimberCollectionSchema, json as JsonValue)
      : fromJson(TimberSchema, json as JsonValue);
  } catch (err) {
    throw ProduceError.invalid([{ field: fieldOfDecodeError((err as Error).message), reason: (err as Error).message }]);
  }
}

// protobuf-es names the field in its messages: `cannot decode field producer.TimberContext.app_max_tps from JSON: ...`
// or `cannot decode message producer.Timber from JSON: key "x" is unknown`.
export function fieldOfDecodeError(message: string): string {
  const unknownKey = /key "([^"]{0,100})" is unknown/.exec(message);
  if (unknownKey?.[1] !== undefined) return unknownKey[1];
  const field = /field producer\.(\w+)\.(\w+)/.exec(message);
  if (field) {
    const [, messageName, fieldName] = field;
    return messageName === "TimberContext" ? `context.${fieldName}` : (fieldName ?? "body");
  }
  if (message.includes("google.protobuf.Struct") || message.includes("google.protobuf.Value")) return "content";
  return "body";
}
