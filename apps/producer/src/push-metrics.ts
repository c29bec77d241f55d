import type { Logger } from "@barito-flow/logger";
import { createPushMetrics, type PushMetrics } from "@barito-flow/push-metrics";
import { Counter, type Registry } from "prom-client";

/**
 * BARITO_PUSH_METRIC_URL: the producer's counts pushed to BaritoMarket every BARITO_PUSH_METRIC_INTERVAL, with their
 * metrics in `registry`; undefined when the URL is not set.
 */
export function createProducerPushMetrics(
  settings: { pushUrl: string | undefined; pushIntervalMs: number },
  registry: Registry,
  logger: Logger,
): PushMetrics | undefined {
  if (settings.pushUrl === undefined) return undefined;
  const requests = new Counter({
    name: "barito_producer_push_metric_requests_total",
    help: "Pushes of log counts to BARITO_PUSH_METRIC_URL, by result (ok, failed)",
    labelNames: ["result"],
    registers: [registry],
  });
  const dropped = new Counter({
    name: "barito_producer_push_metric_dropped_logs_total",
    help: "Logs whose counts were dropped while pushes failed (more app secrets waiting than the cap of 10,000)",
    registers: [registry],
  });
  return createPushMetrics({
    url: settings.pushUrl,
    intervalMs: settings.pushIntervalMs,
    logger: logger.child({ component: "push-metrics" }),
    onPush: (result) => requests.inc({ result: result.ok ? "ok" : "failed" }),
    onDropped: (logs) => dropped.inc(logs),
  });
}
