import type { Logger } from "@barito-flow/logger";
import { Counter, type Registry } from "prom-client";
import { createPushMetrics, type PushMetrics } from "./push-metrics.js";

/**
 * BARITO_PUSH_METRIC_URL wired as both apps use it: pushes every `pushIntervalMs`, counted in `registry` as
 * `<prefix>_push_metric_requests_total{result}` and `<prefix>_push_metric_dropped_logs_total`. Undefined when no
 * URL is set.
 */
export function createCountedPushMetrics(
  prefix: string,
  settings: { pushUrl: string | undefined; pushIntervalMs: number },
  registry: Registry,
  logger: Logger,
): PushMetrics | undefined {
  if (settings.pushUrl === undefined) return undefined;
  const requests = new Counter({
    name: `${prefix}_push_metric_requests_total`,
    help: "Pushes of log counts to BARITO_PUSH_METRIC_URL, by result (ok, failed)",
    labelNames: ["result"],
    registers: [registry],
  });
  const dropped = new Counter({
    name: `${prefix}_push_metric_dropped_logs_total`,
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
