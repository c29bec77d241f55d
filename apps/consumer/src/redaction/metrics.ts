import { Counter, Gauge, type Registry } from "prom-client";

/** barito-flow's redaction metrics (reference §12) plus the ones that make rule problems visible. */
export function createRedactionMetrics(registry: Registry) {
  return {
    ruleCount: new Gauge({
      name: "barito_redaction_status",
      help: "Redaction rules in force, by app and type (StaticRules, JsonPathRules)",
      labelNames: ["app_name", "type"],
      registers: [registry],
    }),
    documentBytes: new Counter({
      name: "barito_consumer_redact_produced_total_log_bytes",
      help: "Bytes of documents passed through the redactor while rules are in force",
      labelNames: ["app_name"],
      registers: [registry],
    }),
    rulesRejected: new Counter({
      name: "barito_consumer_redaction_rules_rejected_total",
      help: "Redaction rules left out because they are invalid, by app, type and reason code",
      labelNames: ["app_name", "type", "code"],
      registers: [registry],
    }),
    loadErrors: new Counter({
      name: "barito_consumer_redaction_rules_load_errors_total",
      help: "Failed loads of the redaction rules (the last good rules stay in force), by source",
      labelNames: ["source"],
      registers: [registry],
    }),
    lastLoad: new Gauge({
      name: "barito_consumer_redaction_rules_last_load_timestamp_seconds",
      help: "Unix time of the last successful load of the redaction rules",
      registers: [registry],
    }),
  };
}

export type RedactionMetrics = ReturnType<typeof createRedactionMetrics>;
