import { renderStatusPage, statusPageCsp } from "./page.js";
import type { StatusSource } from "./status-source.js";

export interface StatusAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Answers `GET /status` (the page) and `GET /status.json[?since=<unix ms>]` (its data) from `source`, framework-free
 * so a Hono app and a bare `http` server can both serve it. Undefined for any other path.
 */
export function answerStatus(source: StatusSource, path: string, query: URLSearchParams): StatusAnswer | undefined {
  if (path === "/status") {
    return {
      status: 200,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": statusPageCsp,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
      body: renderStatusPage(source.document().title),
    };
  }
  if (path === "/status.json") {
    const since = query.get("since");
    if (since !== null && !/^\d{1,16}$/.test(since)) {
      return json(400, {
        code: "INVALID_ARGUMENT",
        field: "since",
        message: "since must be a Unix time in milliseconds (digits only)",
      });
    }
    return json(200, source.document(since === null ? undefined : Number(since)));
  }
  return undefined;
}

function json(status: number, body: unknown): StatusAnswer {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}

/** `answerStatus` for a fetch-style handler (Hono and the like): a `Response`, or undefined for other paths. */
export function statusResponse(source: StatusSource, request: Request): Response | undefined {
  const url = new URL(request.url);
  const answer = answerStatus(source, url.pathname, url.searchParams);
  return answer && new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** What `readFamilies` needs of a registry: prom-client's `Registry` has it. */
export interface MetricsRegistry {
  getSingleMetricAsString(name: string): Promise<string>;
}

/**
 * The Prometheus text of only the families `names` of a registry (prom-client's `getSingleMetricAsString`), so a
 * status tick does not pay for the process metrics it does not show. Missing families are skipped.
 */
export async function readFamilies(registry: MetricsRegistry, names: readonly string[]): Promise<string> {
  const texts = await Promise.all(names.map((name) => registry.getSingleMetricAsString(name).catch(() => "")));
  return texts.join("\n");
}
