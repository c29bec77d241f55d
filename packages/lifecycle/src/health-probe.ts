import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** The process's own operator port, as its container's health check reaches it. */
export interface HealthProbeTarget {
  host: string;
  port: number;
  tls: boolean;
}

/** Hosts meaning "every address": the process is reached on loopback there. */
const everyAddress = new Set(["", "0.0.0.0", "::", "[::]"]);

/**
 * Where the app's own `/healthz` is: EXPORTER_PORT (Go-style `":8008"`, `"8008"`, `"10.0.0.5:8008"`, `"[::1]:8008"`;
 * default `:8008`), on loopback when it listens on every address, over HTTPS when BARITO_EXPORTER_TLS_CERT is set.
 * Returns undefined for an address the app itself would refuse to start with.
 */
export function healthProbeTarget(env: {
  EXPORTER_PORT?: string | undefined;
  BARITO_EXPORTER_TLS_CERT?: string | undefined;
}): HealthProbeTarget | undefined {
  const text = (env.EXPORTER_PORT ?? ":8008").trim();
  const colon = text.lastIndexOf(":");
  const host = colon < 0 ? "" : text.slice(0, colon);
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65_535) return undefined;
  const tls = (env.BARITO_EXPORTER_TLS_CERT ?? "").trim() !== "";
  if (everyAddress.has(host)) return { host: "127.0.0.1", port, tls };
  return { host: host.replace(/^\[(.*)\]$/, "$1"), port, tls };
}

/**
 * True when `/healthz` answers 200 within `timeoutMs`. Over TLS the certificate is not verified: the probe asks
 * whether this process is alive, not who it is, and the certificate names the service, not the loopback address.
 */
export function probeHealth(target: HealthProbeTarget, timeoutMs = 2_000): Promise<boolean> {
  const request = target.tls ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        path: "/healthz",
        timeout: timeoutMs,
        ...(target.tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
