// Readiness probes that speak each server's own protocol over loopback, so "ready" means "answers requests",
// not merely "port open". No client libraries: the stack manager must run before `pnpm install` has built them.
import { connect } from "node:net";

export interface KafkaMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  clusterId: string | null;
  controllerId: number;
}

/** Sends one request frame and resolves with the first complete response frame (without its size prefix). */
function kafkaRoundTrip(host: string, port: number, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no Kafka response from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.once("error", fail);
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.destroy();
        resolve(received.subarray(4, 4 + received.readInt32BE(0)));
      }
    });
    socket.once("close", () => fail(new Error(`Kafka at ${host}:${port} closed the connection before answering`)));
  });
}

/**
 * Metadata v4 (the oldest version Kafka 4 still accepts, and the last non-flexible one, so no tagged fields).
 * A listed broker means the KRaft broker has registered and is serving requests.
 */
export async function kafkaMetadata(host: string, port: number, timeoutMs = 3000): Promise<KafkaMetadata> {
  const clientId = Buffer.from("barito-stack");
  const correlationId = 0x5eed;
  const body = Buffer.alloc(4 + 1);
  body.writeInt32BE(-1, 0); // topics: null = all topics
  body.writeInt8(0, 4); // allow_auto_topic_creation: false
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(3, 0); // api_key Metadata
  header.writeInt16BE(4, 2); // api_version
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);

  const response = await kafkaRoundTrip(host, port, Buffer.concat([size, payload]), timeoutMs);
  let offset = 0;
  const int16 = (): number => {
    const value = response.readInt16BE(offset);
    offset += 2;
    return value;
  };
  const int32 = (): number => {
    const value = response.readInt32BE(offset);
    offset += 4;
    return value;
  };
  const nullableString = (): string | null => {
    const length = int16();
    if (length < 0) return null;
    const value = response.toString("utf8", offset, offset + length);
    offset += length;
    return value;
  };
  if (int32() !== correlationId) throw new Error("Kafka answered with a different correlation id");
  int32(); // throttle_time_ms
  const brokerCount = int32();
  const brokers: KafkaMetadata["brokers"] = [];
  for (let i = 0; i < brokerCount; i++) {
    const nodeId = int32();
    const brokerHost = nullableString() ?? "";
    const brokerPort = int32();
    nullableString(); // rack
    brokers.push({ nodeId, host: brokerHost, port: brokerPort });
  }
  const clusterId = nullableString();
  const controllerId = int32();
  return { brokers, clusterId, controllerId };
}

export interface OpenSearchInfo {
  status: "green" | "yellow" | "red";
  version: string;
  clusterName: string;
}

export async function openSearchHealth(baseUrl: string, timeoutMs = 3000): Promise<OpenSearchInfo> {
  const signal = AbortSignal.timeout(timeoutMs);
  const healthResponse = await fetch(`${baseUrl}/_cluster/health`, { signal });
  if (!healthResponse.ok) throw new Error(`GET ${baseUrl}/_cluster/health answered HTTP ${healthResponse.status}`);
  const health = (await healthResponse.json()) as { status?: string; cluster_name?: string };
  const rootResponse = await fetch(`${baseUrl}/`, { signal });
  const root = (await rootResponse.json()) as { version?: { number?: string; distribution?: string } };
  const status = health.status;
  if (status !== "green" && status !== "yellow" && status !== "red")
    throw new Error(`unexpected cluster health ${JSON.stringify(status)}`);
  return { status, version: root.version?.number ?? "unknown", clusterName: health.cluster_name ?? "" };
}

/** Sends inline commands over a raw socket; resolves with the raw reply once `complete` accepts it. */
function redisExchange(
  host: string,
  port: number,
  command: string,
  complete: (reply: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let reply = "";
    const finish = (error?: Error): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no Redis reply from ${host}:${port} within ${timeoutMs} ms`)));
    socket.once("error", (error) => finish(error));
    socket.once("connect", () => socket.write(command));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (complete(reply)) finish();
    });
    socket.once("close", () =>
      finish(complete(reply) ? undefined : new Error(`Redis at ${host}:${port} closed the connection`)),
    );
  });
}

/** PING then INFO server; resolves with the server version. */
export async function redisPing(host: string, port: number, timeoutMs = 2000): Promise<{ version: string }> {
  const pong = await redisExchange(host, port, "PING\r\n", (r) => r.includes("\r\n"), timeoutMs);
  if (!pong.startsWith("+PONG"))
    throw new Error(`Redis at ${host}:${port} answered PING with ${JSON.stringify(pong.trim())}`);
  const info = await redisExchange(
    host,
    port,
    "INFO server\r\n",
    (r) => {
      const match = /^\$(\d+)\r\n/.exec(r);
      return r.startsWith("-")
        ? r.includes("\r\n")
        : match !== null && Buffer.byteLength(r) >= match[0].length + Number(match[1]) + 2;
    },
    timeoutMs,
  ).catch(() => "");
  return { version: /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "unknown" };
}
