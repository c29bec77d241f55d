import type { Logger } from "@barito-flow/logger";
import type { KafkaConnectionOptions } from "./types.js";

/** The shape of `config.kafka` in @barito-flow/config (declared here so this package does not depend on it). */
export interface KafkaConnectionSettings {
  brokers: readonly string[];
  clientId: string;
  tls?:
    | { caCertPath?: string | undefined; clientCertPath?: string | undefined; clientKeyPath?: string | undefined }
    | undefined;
  sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string } | undefined;
}

/** Connection options from validated settings: TLS file paths become `tls`, SASL passes through. */
export function connectionFromSettings(settings: KafkaConnectionSettings, logger?: Logger): KafkaConnectionOptions {
  const { brokers, clientId, tls, sasl } = settings;
  const options: KafkaConnectionOptions = { brokers: [...brokers], clientId };
  if (logger) options.logger = logger;
  if (tls) {
    options.tls = {};
    if (tls.caCertPath) options.tls.ca = tls.caCertPath;
    if (tls.clientCertPath) options.tls.cert = tls.clientCertPath;
    if (tls.clientKeyPath) options.tls.key = tls.clientKeyPath;
  }
  if (sasl) options.sasl = { ...sasl };
  return options;
}
