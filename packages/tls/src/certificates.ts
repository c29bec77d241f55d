import type { Server as TlsServer, TlsOptions } from "node:tls";
import { type Logger, noopLogger } from "@barito-flow/logger";
import { secureContextOptions, serverTlsOptions, type TlsMinVersion } from "./secure-options.js";
import { checkTlsMaterial, readTlsFiles, type TlsFilePaths, TlsFileError, type TlsMaterial } from "./tls-files.js";

export interface TlsCertificatesOptions {
  paths: TlsFilePaths;
  /** Default TLSv1.2. */
  minVersion?: TlsMinVersion;
  /**
   * How often the files are read and compared with the ones in use (default 10 s; 0: only `reload()`). Contents are
   * compared, not mtimes: a Kubernetes Secret volume swaps a symlink, an editor renames a new file over the old one,
   * and both keep or reset mtimes in ways a stat would miss.
   */
  pollIntervalMs?: number;
  logger?: Logger;
}

export interface TlsCertificates {
  /** A client CA is configured: clients must present a certificate it signed. */
  readonly mutual: boolean;
  readonly minVersion: TlsMinVersion;
  /** Options for `https.createServer` / `http2.createSecureServer`, from the files in use. */
  serverOptions(): TlsOptions;
  /** Applies every later rotation to `server` (`setSecureContext`) and logs the handshakes it refuses. */
  attach(server: TlsServer, name: string): void;
  /** Reads the files now (SIGHUP). True when new files were taken; false when unchanged or refused (then logged). */
  reload(): boolean;
  /** What is in use, for logs. */
  summary(): TlsMaterial["summary"];
  /** Stops polling and forgets the servers. */
  close(): void;
}

/** At most this many refused handshakes are logged per minute and listener; the rest are counted in the next line. */
const refusalLinesPerMinute = 20;

/**
 * A listener's certificate, key and client CA, checked at creation (throws `TlsFileError`) and rotated without a
 * restart: new files are checked as the first ones were and applied to every attached server, so new connections
 * get them while established ones keep the context they were opened with. Files that do not check out are refused
 * with one error line, and the ones in use stay.
 */
export function createTlsCertificates(options: TlsCertificatesOptions): TlsCertificates {
  const { paths } = options;
  const minVersion = options.minVersion ?? "TLSv1.2";
  const logger = options.logger ?? noopLogger;
  let current = checkTlsMaterial(readTlsFiles(paths), paths);
  const servers = new Set<TlsServer>();
  // The bytes last refused, so that polling logs a bad file once rather than every interval.
  let refused: Buffer | undefined;
  // Polling judges a file only once it read the same bytes twice: a file caught half-written is not an error.
  let unsettled: Buffer | undefined;
  let unreadablePolls = 0;

  function concat(files: { cert: Buffer; key: Buffer; clientCa: Buffer | undefined }): Buffer {
    return Buffer.concat([
      files.cert,
      Buffer.from([0]),
      files.key,
      Buffer.from([0]),
      files.clientCa ?? Buffer.alloc(0),
    ]);
  }

  function check(fromPoll: boolean): boolean {
    let files: ReturnType<typeof readTlsFiles>;
    try {
      files = readTlsFiles(paths);
    } catch (err) {
      // A file missing for a moment (a swap in progress) is retried at the next poll; missing at two polls in a
      // row, it is reported once.
      if (!fromPoll || ++unreadablePolls === 2) logRefusal(err);
      return false;
    }
    unreadablePolls = 0;
    const bytes = concat(files);
    if (bytes.equals(concat(current))) {
      refused = unsettled = undefined;
      return false;
    }
    if (refused?.equals(bytes)) return false;
    let next: TlsMaterial;
    try {
      next = checkTlsMaterial(files, paths);
    } catch (err) {
      if (fromPoll && !unsettled?.equals(bytes)) {
        unsettled = bytes;
        return false;
      }
      refused = bytes;
      logRefusal(err);
      return false;
    }
    current = next;
    refused = unsettled = undefined;
    const context = secureContextOptions(current, minVersion);
    for (const server of servers) server.setSecureContext(context);
    logger.info("TLS certificate reloaded", { ...current.summary, certPath: paths.certPath });
    return true;
  }

  function logRefusal(err: unknown): void {
    const details = err instanceof TlsFileError ? { code: err.code, path: err.path, reason: err.message } : { err };
    logger.error("new TLS files refused; the previous certificate stays in use", details);
  }

  const interval = options.pollIntervalMs ?? 10_000;
  const timer = interval > 0 ? setInterval(() => check(true), interval) : undefined;
  timer?.unref();

  return {
    mutual: current.clientCa !== undefined,
    minVersion,
    serverOptions: () => serverTlsOptions(current, minVersion),
    attach(server, name) {
      servers.add(server);
      server.once("close", () => servers.delete(server));
      let windowStart = 0;
      let lines = 0;
      let suppressed = 0;
      // A refused socket is destroyed before the error is emitted, and forgets its peer: noted when it connects.
      const peers = new WeakMap<object, string | undefined>();
      server.on("connection", (raw: { remoteAddress?: string }) => peers.set(raw, raw.remoteAddress));
      server.on("tlsClientError", (err: NodeJS.ErrnoException, socket) => {
        // A refused client certificate: Node judges it once the handshake is done and closes the connection without
        // an alert, so the error is a hang-up and the reason is the socket's.
        const refused = (socket as { authorizationError?: Error | string | null }).authorizationError ?? undefined;
        if (refused === undefined && err.code === "ECONNRESET") {
          // The client left mid-handshake: a TCP health check, a port scan, a load generator stopping. Not a refusal.
          logger.debug("TLS connection closed before its handshake ended", { listener: name });
          return;
        }
        const now = Date.now();
        if (now - windowStart >= 60_000) {
          windowStart = now;
          lines = 0;
        }
        if (lines >= refusalLinesPerMinute) {
          suppressed++;
          return;
        }
        lines++;
        const parent = (socket as { _parent?: object })._parent;
        logger.warn("TLS handshake refused", {
          listener: name,
          code: refused === undefined ? err.code : String(refused),
          reason: refused === undefined ? err.message : `client certificate refused: ${String(refused)}`,
          remoteAddress: socket.remoteAddress ?? (parent && peers.get(parent)),
          ...(suppressed > 0 ? { notLogged: suppressed } : {}),
        });
        suppressed = 0;
      });
    },
    reload: () => check(false),
    summary: () => current.summary,
    close() {
      if (timer) clearInterval(timer);
      servers.clear();
    },
  };
}
