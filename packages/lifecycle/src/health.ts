/**
 * The health endpoints every barito service answers, with one body shape whatever the server: `/healthz` says the
 * process is alive, `/readyz` says whether it should receive work (200) or not (503) and why, check by check.
 * Framework-free, so a Hono app, a bare `node:http` server and a cluster primary serve the same bytes.
 */
export interface Readiness {
  ready: boolean;
  /** What each dependency reports, e.g. `{ kafka: true, opensearch: "degraded" }`; shown as is. */
  checks: Record<string, unknown>;
}

export interface HealthAnswer {
  status: 200 | 503;
  contentType: "application/json";
  body: string;
}

export const healthPaths = ["/healthz", "/readyz"] as const;
export type HealthPath = (typeof healthPaths)[number];

export function isHealthPath(path: string): path is HealthPath {
  return (healthPaths as readonly string[]).includes(path);
}

export function healthAnswer(path: HealthPath, readiness: () => Readiness): HealthAnswer {
  if (path === "/healthz") return { status: 200, contentType: "application/json", body: '{"status":"ok"}' };
  const { ready, checks } = readiness();
  return {
    status: ready ? 200 : 503,
    contentType: "application/json",
    body: JSON.stringify({ status: ready ? "ready" : "not_ready", checks }),
  };
}
