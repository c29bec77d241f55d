/** Where a server listens. `host` "0.0.0.0" stands for Go's empty host (all interfaces). */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parses Go-style listen addresses: `":8080"`, `"8080"`, `"0.0.0.0:8080"`, `"localhost:8080"`, `"[::1]:8080"`.
 * Port 0 is accepted (an ephemeral port, handy in tests). Returns undefined for anything else.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  const ipv6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(trimmed);
  if (ipv6) {
    host = ipv6[1] as string;
    portText = ipv6[2] as string;
  } else if (/^\d+$/.test(trimmed)) {
    host = "";
    portText = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(":");
    if (colon < 0) return undefined;
    host = trimmed.slice(0, colon);
    portText = trimmed.slice(colon + 1);
    if (!/^[A-Za-z0-9.-]*$/.test(host) || !/^\d+$/.test(portText)) return undefined;
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return undefined;
  return { host: host === "" ? "0.0.0.0" : host, port };
}
