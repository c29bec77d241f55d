export { type ConfigIssue, ConfigError } from "./config-error.js";
export {
  type ConsumerConfig,
  type ConsumerSettings,
  consumerEnvSchema,
  consumerFetchProperties,
  consumerEnvShape,
  type IndexMethod,
  loadConsumerConfig,
  memoryBudgetProblem,
  type OpenSearchSettings,
  type RedactionSettings,
  sinkBufferShortfall,
} from "./consumer-config.js";
export { containerMemoryLimit } from "./container-memory.js";
export { type DurationUnit, formatDuration, parseDuration } from "./duration.js";
export {
  booleanVar,
  byteSizeVar,
  checkHostPort,
  checkKafkaName,
  checkUrl,
  csvVar,
  durationVar,
  type EnvVar,
  enumVar,
  integerVar,
  listenAddressVar,
  redisUrlVar,
  type StringVarOptions,
  stringVar,
  urlVar,
  type VarOptions,
} from "./env-vars.js";
export { type ListenAddress, parseListenAddress } from "./listen-address.js";
export { type DeepReadonly, type Env, loadConfig } from "./load-config.js";
export {
  type KafkaMessageFormat,
  loadProducerConfig,
  type ProducerConfig,
  type ProducerSettings,
  producerEnvSchema,
  producerEnvShape,
  type RateLimitBackend,
  type RateLimitSettings,
} from "./producer-config.js";
export { formatConfigForLog, REDACTED, redactConfig } from "./redact-config.js";
export type {
  KafkaConnectionConfig,
  KafkaSaslMechanism,
  LogConfig,
  SharedConfig,
  TlsFiles,
} from "./shared-schema.js";
