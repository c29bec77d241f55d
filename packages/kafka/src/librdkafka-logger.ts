import { type Logger, redactSecrets, redactText } from "@barito-flow/logger";

/** The logger shape the KafkaJS-compatible layer calls (`types/kafkajs.d.ts` Logger). */
export interface KafkaJSLoggerShape {
  info(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  debug(message: string, extra?: object): void;
  namespace(namespace: string, logLevel?: number): KafkaJSLoggerShape;
  setLogLevel(logLevel: number): void;
}

/**
 * What the client last reported about its broker connections, so that "not reachable" errors can say why
 * (refused credentials, TLS handshake, connection refused) instead of only that it timed out.
 */
export interface ConnectionDiagnostics {
  /** Last librdkafka FAIL line (a broker connection failure), secrets scrubbed. */
  lastBrokerFailure?: string;
}

/** Refused credentials are a configuration error: they repeat on every reconnect, and are logged once per this. */
export const authenticationLogIntervalMs = 60_000;
const authenticationFailure = /authentication (fail|error)|sasl authentication/i;

/** Whether a librdkafka text reports refused credentials (SASL or a TLS client certificate). */
export function isAuthenticationFailure(text: string | undefined): boolean {
  return text !== undefined && authenticationFailure.test(text);
}

/** KafkaJS log levels (NOTHING=0 .. DEBUG=4). */
const levelRank = { error: 1, warn: 2, info: 3, debug: 4 } as const;

const transientTopicError = /Unknown topic or partition|UNKNOWN_TOPIC_OR_PART/;

/**
 * Adapts our `Logger` to what librdkafka / the KafkaJS layer log through. librdkafka lines carry `fac` (facility, e.g.
 * FAIL, REQTMOUT) and the client `name`; both are kept as fields. Every line goes through the logger's secret rules
 * (the configured secret values, secret-named fields, URL credentials) even though librdkafka itself does not print
 * secrets, because `debug` contexts can echo configuration.
 */
export function createLibrdkafkaLogger(
  logger: Logger,
  secrets: readonly string[],
  initialLevel: number = levelRank.info,
  diagnostics?: ConnectionDiagnostics,
  now: () => number = Date.now,
  // Shared with the namespaced children: one client, one rhythm.
  authLog: { at: number; suppressed: number } = { at: Number.NEGATIVE_INFINITY, suppressed: 0 },
): KafkaJSLoggerShape {
  let currentLevel: number = initialLevel;
  const emit = (level: keyof typeof levelRank, message: string, extra?: object) => {
    const text = redactText(String(message), secrets);
    if (diagnostics && level === "error" && (extra as { fac?: unknown } | undefined)?.fac === "FAIL") {
      diagnostics.lastBrokerFailure = text;
    }
    let meta = extra;
    if (isAuthenticationFailure(text)) {
      if (now() - authLog.at < authenticationLogIntervalMs) {
        authLog.suppressed++;
        return;
      }
      authLog.at = now();
      if (authLog.suppressed > 0) meta = { ...extra, repeatedSinceLastLog: authLog.suppressed };
      authLog.suppressed = 0;
    }
    // A topic created a moment ago is briefly unknown to the broker serving it: expected, and retried by the client.
    const effective = level === "error" && transientTopicError.test(text) ? "warn" : level;
    if (levelRank[effective] > currentLevel) return;
    logger[effective](text, meta ? redactSecrets({ ...meta }, secrets) : {});
  };
  const adapter: KafkaJSLoggerShape = {
    info: (message, extra) => emit("info", message, extra),
    error: (message, extra) => emit("error", message, extra),
    warn: (message, extra) => emit("warn", message, extra),
    debug: (message, extra) => emit("debug", message, extra),
    namespace: (namespace) =>
      createLibrdkafkaLogger(logger.child({ namespace }), secrets, currentLevel, diagnostics, now, authLog),
    setLogLevel: (level) => {
      if (typeof level === "number" && level >= 0 && level <= levelRank.debug) currentLevel = level;
    },
  };
  return adapter;
}
