export { type ConfigIssue, ConfigError } from "./config-error.js";
export { containerMemoryLimit } from "./container-memory.js";
export {
  booleanVar,
  byteSizeVar,
  checkKafkaName,
  checkUrl,
  csvVar,
  durationVar,
  type EnvVar,
  enumVar,
  integerVar,
  listenAddressVar,
  processCountVar,
  redisUrlVar,
  stringVar,
  urlVar,
} from "./env-vars.js";
export type { ListenAddress } from "./listen-address.js";
export { type DeepReadonly, type Env, loadConfig } from "./load-config.js";
export { redactConfig } from "./redact-config.js";
export {
  allIssues,
  checkConsulUrl,
  checkPair,
  checkSharedEnv,
  fromConsul,
  inertSharedVariables,
  type KafkaConnectionConfig,
  type KafkaSaslMechanism,
  type LogConfig,
  type SharedConfig,
  sharedEnvShape,
  type TlsFiles,
  toSharedConfig,
} from "./shared-schema.js";
export {
  checkListenerTls,
  exporterTlsNames,
  exporterTlsShape,
  type ListenerTls,
  type ListenerTlsNames,
  type TlsFilesCheck,
  type TlsMinVersion,
  tlsMinVersionVar,
  toListenerTls,
} from "./listener-tls.js";
