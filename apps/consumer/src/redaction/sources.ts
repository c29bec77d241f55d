import { readFile } from "node:fs/promises";
import type { Logger } from "@barito-flow/logger";
import pRetry from "p-retry";
import type { RedactionSettings } from "../config.js";
import type { RedactionMetrics } from "./metrics.js";
import type { Redactor } from "./redactor.js";
import { type ParsedRules, parseRulesMap, RulesFormatError } from "./rules.js";

export type RulesSourceKind = "none" | "inline" | "file" | "market";

export interface RulesSourceStatus {
  kind: RulesSourceKind;
  /** Rules have been loaded at least once (always true for "none"). */
  loaded: boolean;
  lastError: string | undefined;
  lastLoadAt: Date | undefined;
}

export interface RulesSource {
  readonly kind: RulesSourceKind;
  /**
   * Loads the rules a first time and starts the refresh. Resolves once the first load succeeded; until then it
   * retries with backoff (a market that is down at startup is not a crash, and documents are not indexed
   * unredacted meanwhile if the caller waits). Rejects only for inline rules that are not a JSON object, and
   * when stopped before the first load.
   */
  start(): Promise<void>;
  stop(): void;
  status(): RulesSourceStatus;
}

export interface RulesSourceOptions {
  settings: RedactionSettings;
  redactor: Redactor;
  metrics: RedactionMetrics;
  logger: Logger;
  /** Refresh of the file and market sources (barito-flow: every minute). */
  refreshIntervalMs?: number;
  requestTimeoutMs?: number;
  /** First-load retry backoff: the n-th wait is a random time in [½, 1) × retryMinMs × 2ⁿ⁻¹, at most retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  fetch?: typeof fetch;
  readText?: (path: string) => Promise<string>;
}

/** Responses larger than this are refused: a rules map is a few kilobytes. */
const maxResponseBytes = 8 * 1024 * 1024;

export class RulesLoadError extends Error {
  override readonly name = "RulesLoadError";
}

/** `REDACTOR_RULES_MAP` wins over `BARITO_REDACTOR_RULES_FILE`, which wins over the market endpoint. */
export function rulesSourceKind(settings: RedactionSettings): RulesSourceKind {
  if (settings.rulesMap !== undefined && settings.rulesMap.trim() !== "") return "inline";
  if (settings.rulesFile) return "file";
  if (settings.marketEndpointUrl) return "market";
  return "none";
}

/**
 * Checks inline rules at startup, so a malformed `REDACTOR_RULES_MAP` is a configuration error with a clear
 * message instead of a consumer that runs without its rules. Returns the per-rule rejections (not fatal).
 */
export function validateInlineRules(settings: RedactionSettings): ParsedRules | undefined {
  if (rulesSourceKind(settings) !== "inline") return undefined;
  return parseRulesMap(settings.rulesMap ?? "");
}

/** The market URL without the client key, for logs and errors. */
function describeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

async function readLimitedText(response: Response): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxResponseBytes) throw new RulesLoadError(`response of ${declared} bytes is too large`);
  const body = await response.arrayBuffer();
  if (body.byteLength > maxResponseBytes) throw new RulesLoadError(`response of ${body.byteLength} bytes is too large`);
  return new TextDecoder().decode(body);
}

export function createRulesSource(options: RulesSourceOptions): RulesSource {
  const { settings, redactor, metrics, logger } = options;
  const kind = rulesSourceKind(settings);
  const refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const retryMinMs = options.retryMinMs ?? 1_000;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const doFetch = options.fetch ?? fetch;
  const readText = options.readText ?? ((path: string) => readFile(path, "utf8"));
  const endpointForLogs = settings.marketEndpointUrl ? describeEndpoint(settings.marketEndpointUrl) : undefined;
  let loaded = kind === "none";
  let lastError: string | undefined;
  let lastLoadAt: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Aborted by stop(): cuts a first-load backoff short. */
  const stopping = new AbortController();

  if (kind !== "none") {
    const ignored = [
      settings.rulesMap && kind !== "inline" ? "REDACTOR_RULES_MAP" : undefined,
      settings.rulesFile && kind === "market" ? "BARITO_REDACTOR_RULES_FILE" : undefined,
      settings.marketEndpointUrl && kind !== "market" ? "BARITO_MARKET_REDACT_ENDPOINT_URL" : undefined,
    ].filter(Boolean);
    if (ignored.length > 0) logger.warn("several redaction rule sources set; using one", { source: kind, ignored });
  }

  async function fetchText(): Promise<string> {
    if (kind === "inline") return settings.rulesMap ?? "";
    if (kind === "file") return readText(settings.rulesFile ?? "");
    const url = new URL(settings.marketEndpointUrl ?? "");
    url.searchParams.set("cluster_name", settings.clusterName ?? "");
    url.searchParams.set("client_key", settings.marketClientKey ?? "");
    const response = await doFetch(url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    // BaritoMarket answers a wrong client key with 404 and an error body: that is not an empty rule set.
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new RulesLoadError(`market answered HTTP ${response.status}`);
    }
    return readLimitedText(response);
  }

  function apply(parsed: ParsedRules): void {
    for (const rejection of parsed.rejected) {
      metrics.rulesRejected.inc({ app_name: rejection.app, type: rejection.type, code: rejection.code });
      logger.warn("redaction rule rejected", { ...rejection });
    }
    redactor.setRules(parsed.rules);
    metrics.ruleCount.reset();
    for (const [app, rules] of parsed.rules) {
      metrics.ruleCount.set({ app_name: app, type: "StaticRules" }, rules.staticRules.length);
      metrics.ruleCount.set({ app_name: app, type: "JsonPathRules" }, rules.jsonPathRules.length);
    }
    loaded = true;
    lastError = undefined;
    lastLoadAt = new Date();
    metrics.lastLoad.set(lastLoadAt.getTime() / 1000);
  }

  /** One load; on failure the rules in force stay. Returns whether it succeeded. */
  async function loadOnce(): Promise<boolean> {
    try {
      const parsed = parseRulesMap(await fetchText());
      if (stopped) return false;
      apply(parsed);
      logger.info("redaction rules loaded", {
        source: kind,
        apps: parsed.rules.size,
        rejected: parsed.rejected.length,
      });
      return true;
    } catch (err) {
      if (kind === "inline") throw err;
      metrics.loadErrors.inc({ source: kind });
      const reason =
        err instanceof RulesFormatError || err instanceof RulesLoadError
          ? err.message
          : // AbortSignal.timeout() rejects with a DOMException, not always an Error of this realm.
            (err as { name?: unknown } | null)?.name === "TimeoutError" ||
              (err as { name?: unknown } | null)?.name === "AbortError"
            ? `no answer within ${requestTimeoutMs} ms`
            : `${(err as Error).name}: ${(err as Error).message}`;
      lastError = reason;
      logger.warn("loading the redaction rules failed; the last good rules stay in force", {
        source: kind,
        ...(endpointForLogs ? { endpoint: endpointForLogs } : { file: settings.rulesFile }),
        reason,
      });
      return false;
    }
  }

  function scheduleRefresh(): void {
    if (stopped || kind === "none" || kind === "inline") return;
    timer = setTimeout(async () => {
      await loadOnce();
      scheduleRefresh();
    }, refreshIntervalMs);
    timer.unref();
  }

  return {
    kind,
    async start() {
      if (kind === "none") {
        logger.info("no redaction rules configured; documents are indexed as received");
        return;
      }
      // loadOnce() logs and counts each failure itself; a failed load only has to reach p-retry as an error.
      await pRetry(
        async () => {
          if (!(await loadOnce())) throw new RulesLoadError(lastError ?? "loading the redaction rules failed");
        },
        {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          // randomize multiplies by [1, 2): half the minimum gives waits in [½, 1) of the doubling step.
          minTimeout: retryMinMs / 2,
          maxTimeout: retryMaxMs,
          randomize: true,
          unref: true,
          signal: stopping.signal,
          // Inline rules that are not a JSON object will not parse better later: fail start() with the reason.
          shouldRetry: () => kind !== "inline",
        },
      );
      scheduleRefresh();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      stopping.abort(new RulesLoadError("stopped before the redaction rules were loaded"));
    },
    status: () => ({ kind, loaded, lastError, lastLoadAt }),
  };
}
