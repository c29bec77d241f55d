// What the producer's integration tests send and how they wait: an app's context in the REST (snake_case) and the
// protobuf JSON (camelCase) spelling, a POST on a connection of its own, polling until a condition holds, and the
// count of what reached a topic.
import { execFileSync } from "node:child_process";
import { type IncomingHttpHeaders, request } from "node:http";

/** A REST context for `app`: its own topic and index prefix, 1 partition, 1 replica, unless `overrides` say else. */
export const restContext = (app: string, tps: number, overrides: Record<string, unknown> = {}) => ({
  kafka_topic: app,
  kafka_partition: 1,
  kafka_replication_factor: 1,
  es_index_prefix: app,
  app_max_tps: tps,
  ...overrides,
});

/** The same context in protobuf's JSON names, for the gRPC and Connect clients. */
export const rpcContext = (app: string, tps: number) => ({
  kafkaTopic: app,
  kafkaPartition: 1,
  kafkaReplicationFactor: 1,
  esIndexPrefix: app,
  appMaxTps: tps,
});

export interface PostAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A JSON POST to 127.0.0.1:`port` on a connection of its own (no keep-alive agent): a cluster spreads such calls
 * over its workers, and a closed listener shows as ECONNREFUSED rather than a reset keep-alive. Rejects on a network
 * error, and when no answer came within `timeoutMs` (so a hung call fails with its own message).
 */
export function postOnOwnConnection(port: number, path: string, body: string, timeoutMs: number): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`POST ${path}: no answer within ${Math.round(timeoutMs / 1000)} s`)),
    );
    req.end(body);
  });
}

/** Polls `condition` every `everyMs` until it holds or `timeoutMs` has passed; the last poll's answer. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return condition();
}

/** How many records `topic` holds, read from the beginning by kcat (an independent client). */
export function recordsIn(broker: string, topic: string): number {
  const out = execFileSync("kcat", ["-b", broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\\n"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return out.split("\n").filter(Boolean).length;
}
