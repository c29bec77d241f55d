import type { ClusterHealth } from "./types.js";

/** `GET /_cluster/health`'s answer as `ClusterHealth`, or null for anything that is not one (a proxy's page, say). */
export function clusterHealthOf(body: unknown): ClusterHealth | null {
  if (typeof body !== "object" || body === null) return null;
  const health = body as Record<string, unknown>;
  const status = health.status;
  if (status !== "green" && status !== "yellow" && status !== "red") return null;
  return {
    status,
    clusterName: String(health.cluster_name ?? ""),
    numberOfNodes: Number(health.number_of_nodes ?? 0),
    ...(typeof health.active_shards_percent_as_number === "number"
      ? { activeShardsPercent: health.active_shards_percent_as_number }
      : {}),
  };
}
