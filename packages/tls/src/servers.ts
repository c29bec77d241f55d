import { createServer as createHttp, type RequestListener, type Server as HttpServer } from "node:http";
import {
  createServer as createH2c,
  createSecureServer as createH2,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerOptions as Http2Options,
} from "node:http2";
import { createServer as createHttps, type Server as HttpsServer } from "node:https";
import { isIP } from "node:net";
import type { TlsCertificates } from "./certificates.js";

/**
 * An HTTP/1.1 server: HTTPS with `tls` (attached, so it follows rotations), cleartext without. `name` names the
 * listener in the handshake refusals the certificates log.
 */
export function createHttpListener(
  listener: RequestListener,
  tls: TlsCertificates | undefined,
  name: string,
): HttpServer | HttpsServer {
  if (!tls) return createHttp(listener);
  const server = createHttps(tls.serverOptions(), listener);
  tls.attach(server, name);
  return server;
}

/**
 * An HTTP/2 server: over TLS with `tls` (ALPN `h2` only: a gRPC client always offers it, and HTTP/1.1 has its own
 * port), h2c without.
 */
export function createHttp2Listener(
  listener: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  tls: TlsCertificates | undefined,
  name: string,
  options: Http2Options = {},
): Http2Server | Http2SecureServer {
  if (!tls) return createH2c(options, listener);
  const server = createH2({ ...options, ...tls.serverOptions(), allowHTTP1: false, ALPNProtocols: ["h2"] }, listener);
  tls.attach(server, name);
  return server;
}

/** Only this machine can reach `host`: a cleartext listener there needs no warning. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare === "localhost" || bare === "::1") return true;
  return isIP(bare) === 4 && bare.startsWith("127.");
}

/**
 * The one startup warning of a cleartext listener that other machines can reach: anyone on the path reads its
 * traffic. Nothing for a TLS listener or a loopback one.
 */
export function warnIfCleartext(
  logger: { warn(msg: string, meta?: Record<string, unknown>): void },
  listener: string,
  host: string,
  tls: TlsCertificates | undefined,
): void {
  if (tls || isLoopback(host)) return;
  logger.warn("listening without TLS on an address other machines can reach", { listener, host: host || "*" });
}
