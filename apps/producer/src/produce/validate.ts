import type { Timber, TimberCollection, TimberContext } from "@barito-flow/proto";
import { type FieldViolation, ProduceError } from "./produce-error.js";
import { hasContent } from "@barito-flow/proto/wire";

export interface ValidationLimits {
  topicPrefix: string;
  topicSuffix: string;
  maxBatchItems: number;
  /** BARITO_PRODUCER_MAX_TOPIC_PARTITIONS; absent = only Kafka's own int32 bound. */
  maxTopicPartitions?: number;
  /** BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS: the context's partitions and replication factor are not used. */
  ignoreKafkaOptions?: boolean;
  /** Brokers in the cluster, from the last metadata seen; undefined until known. */
  brokerCount?: () => number | undefined;
}

const int32Max = 2_147_483_647;
// Kafka's replication factor is an int16.
const maxReplicationFactor = 32_767;

interface RangeRule {
  field: string;
  value: number;
  min: number;
  max: number;
  /** What min means ("broker default") and where max comes from, for the reason. */
  minMeaning?: string;
  maxSource?: string;
}

/** The numeric limits of a context, one rule each: applied alike to every protocol. */
function contextRanges(context: TimberContext, limits: ValidationLimits): RangeRule[] {
  const rules: RangeRule[] = [];
  if (!limits.ignoreKafkaOptions) {
    const maxPartitions = limits.maxTopicPartitions ?? int32Max;
    rules.push({
      field: "kafka_partition",
      value: context.kafkaPartition,
      min: 0,
      max: maxPartitions,
      minMeaning: "broker default",
      maxSource: limits.maxTopicPartitions === undefined ? undefined : "BARITO_PRODUCER_MAX_TOPIC_PARTITIONS",
    });
    const brokers = limits.brokerCount?.();
    const capped = brokers !== undefined && brokers > 0 && brokers < maxReplicationFactor;
    rules.push({
      field: "kafka_replication_factor",
      value: context.kafkaReplicationFactor,
      min: 0,
      max: capped ? brokers : maxReplicationFactor,
      minMeaning: "broker default",
      maxSource: capped ? `the number of brokers in the Kafka cluster (${brokers})` : undefined,
    });
  }
  if (context.disableAppTps) {
    rules.push({ field: "app_group_max_tps", value: context.appGroupMaxTps, min: 1, max: int32Max });
  } else {
    rules.push({ field: "app_max_tps", value: context.appMaxTps, min: 1, max: int32Max });
  }
  return rules;
}

function rangeReason(rule: RangeRule, context: TimberContext): string {
  const min = rule.minMeaning ? `${rule.min} (${rule.minMeaning})` : String(rule.min);
  const max = rule.maxSource ? `${rule.max}, ${rule.maxSource}` : String(rule.max);
  const hint =
    rule.field === "app_max_tps" && !context.disableAppTps ? " (or set disable_app_tps with app_group_max_tps)" : "";
  const tpsHint = rule.field === "app_group_max_tps" ? " when disable_app_tps is true" : "";
  return `must be between ${min} and ${max}${tpsHint}${hint}; got ${rule.value}`;
}

// Kafka's own rule (kafka.common.Topic): [a-zA-Z0-9._-], at most 249 characters, not "." or "..".
const kafkaTopicPattern = /^[a-zA-Z0-9._-]+$/;
const maxTopicLength = 249;

// OpenSearch index names: lowercase, none of \ / * ? " < > | space , # :, not starting with - _ +, at most 255
// bytes. The daily suffix "-YYYY.MM.DD" is appended by the consumer, so the prefix gets 255 - 11 bytes.
const forbiddenIndexCharacters = /[\\/*?"<>| ,#:]/;
const dailySuffixBytes = "-YYYY.MM.DD".length;
const maxIndexBytes = 255;

export function topicFor(kafkaTopic: string, limits: Pick<ValidationLimits, "topicPrefix" | "topicSuffix">): string {
  return `${limits.topicPrefix}${kafkaTopic}${limits.topicSuffix}`;
}

function validateContext(
  context: TimberContext | undefined,
  path: string,
  limits: ValidationLimits,
  violations: FieldViolation[],
): void {
  if (!context) {
    violations.push({ field: path, reason: "required: the context names the app's topic, index and limits" });
    return;
  }
  if (context.kafkaTopic === "") {
    violations.push({ field: `${path}.kafka_topic`, reason: "required" });
  } else {
    const topic = topicFor(context.kafkaTopic, limits);
    if (!kafkaTopicPattern.test(topic)) {
      violations.push({
        field: `${path}.kafka_topic`,
        reason: `topic "${truncate(topic)}" may contain only letters, digits, '.', '_' and '-'`,
      });
    } else if (topic.length > maxTopicLength) {
      violations.push({ field: `${path}.kafka_topic`, reason: `topic name longer than ${maxTopicLength} characters` });
    } else if (topic === "." || topic === "..") {
      violations.push({ field: `${path}.kafka_topic`, reason: `topic name cannot be "${topic}"` });
    }
  }
  const prefix = context.esIndexPrefix;
  if (prefix === "") {
    violations.push({ field: `${path}.es_index_prefix`, reason: "required" });
  } else if (prefix !== prefix.toLowerCase()) {
    violations.push({ field: `${path}.es_index_prefix`, reason: "index names must be lowercase" });
  } else if (forbiddenIndexCharacters.test(prefix)) {
    violations.push({
      field: `${path}.es_index_prefix`,
      reason: 'must not contain \\ / * ? " < > | space , # or :',
    });
  } else if (/^[-_+]/.test(prefix) || prefix === "." || prefix === "..") {
    violations.push({
      field: `${path}.es_index_prefix`,
      reason: "must not start with '-', '_' or '+', nor be '.' or '..'",
    });
  } else if (Buffer.byteLength(prefix) > maxIndexBytes - dailySuffixBytes) {
    violations.push({
      field: `${path}.es_index_prefix`,
      reason: `longer than ${maxIndexBytes - dailySuffixBytes} bytes (index names are limited to ${maxIndexBytes})`,
    });
  }
  for (const rule of contextRanges(context, limits)) {
    if (rule.value < rule.min || rule.value > rule.max) {
      violations.push({ field: `${path}.${rule.field}`, reason: rangeReason(rule, context) });
    }
  }
}

function validateContent(timber: Timber, path: string, violations: FieldViolation[]): void {
  if (!hasContent(timber)) violations.push({ field: `${path}.content`, reason: "required: a JSON object" });
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Throws a ProduceError listing every violated rule; returns the context the records will carry. */
export function validateTimber(timber: Timber, limits: ValidationLimits): TimberContext {
  const violations: FieldViolation[] = [];
  validateContext(timber.context, "context", limits, violations);
  validateContent(timber, "", violations);
  if (violations.length > 0) throw ProduceError.invalid(violations.map(stripLeadingDot));
  return timber.context as TimberContext;
}

export function validateCollection(collection: TimberCollection, limits: ValidationLimits): TimberContext {
  const violations: FieldViolation[] = [];
  validateContext(collection.context, "context", limits, violations);
  if (collection.items.length === 0) {
    violations.push({ field: "items", reason: "must contain at least one log" });
  } else if (collection.items.length > limits.maxBatchItems) {
    violations.push({
      field: "items",
      reason: `at most ${limits.maxBatchItems} logs per batch (got ${collection.items.length})`,
    });
  }
  collection.items.forEach((item, index) => {
    // Report at most a handful of item errors: a 10k-item batch of bad items must not produce a 10k-entry answer.
    if (violations.length < 20) validateContent(item, `items[${index}]`, violations);
  });
  if (violations.length > 0) throw ProduceError.invalid(violations);
  return collection.context as TimberContext;
}

function stripLeadingDot(violation: FieldViolation): FieldViolation {
  return violation.field.startsWith(".") ? { ...violation, field: violation.field.slice(1) } : violation;
}
