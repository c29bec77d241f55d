import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/** Where a listener's PEM files are. `clientCaPath` turns on mutual TLS: clients must present a certificate it signed. */
export interface TlsFilePaths {
  certPath: string;
  keyPath: string;
  clientCaPath?: string | undefined;
}

export type TlsFileRole = "cert" | "key" | "clientCa";

/** The bytes of one consistent set of files, checked: the certificate parses, the key is its key, the CA parses. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | undefined;
  /** For logs: what was loaded (never the key). */
  summary: { subject: string; notAfter: string; fingerprint256: string };
}

export type TlsFileErrorCode = "UNREADABLE" | "INVALID_CERT" | "INVALID_KEY" | "KEY_MISMATCH" | "INVALID_CA";

/** A PEM file that cannot serve: `role` says which one, so a configuration error can name its variable. */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  readonly retriable = false;
  constructor(
    readonly code: TlsFileErrorCode,
    readonly role: TlsFileRole,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function readTlsFiles(paths: TlsFilePaths): { cert: Buffer; key: Buffer; clientCa: Buffer | undefined } {
  return {
    cert: readRole(paths.certPath, "cert"),
    key: readRole(paths.keyPath, "key"),
    clientCa: paths.clientCaPath === undefined ? undefined : readRole(paths.clientCaPath, "clientCa"),
  };
}

function readRole(path: string, role: TlsFileRole): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TlsFileError("UNREADABLE", role, path, `cannot read ${path} (${reason})`);
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks bytes read by `readTlsFiles`. Throws `TlsFileError`; the messages never contain key material. */
export function checkTlsMaterial(
  files: { cert: Buffer; key: Buffer; clientCa: Buffer | undefined },
  paths: TlsFilePaths,
): TlsMaterial {
  let cert: X509Certificate;
  try {
    // The first certificate of the file is the server's; the rest is its chain, sent as is.
    cert = new X509Certificate(files.cert);
  } catch (err) {
    throw new TlsFileError(
      "INVALID_CERT",
      "cert",
      paths.certPath,
      `${paths.certPath} is not a PEM certificate (${reason(err)})`,
    );
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(files.key);
  } catch (err) {
    // Node's message for a wrong passphrase or a garbled PEM says nothing of the key's bytes.
    throw new TlsFileError(
      "INVALID_KEY",
      "key",
      paths.keyPath,
      `${paths.keyPath} is not an unencrypted PEM private key (${reason(err)})`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsFileError(
      "KEY_MISMATCH",
      "key",
      paths.keyPath,
      `${paths.keyPath} is not the private key of the certificate in ${paths.certPath} (${cert.subject.replaceAll("\n", ", ")})`,
    );
  }
  if (files.clientCa !== undefined && paths.clientCaPath !== undefined) {
    const caPath = paths.clientCaPath;
    try {
      // Every certificate of the bundle must parse, or some clients would be refused for no visible reason.
      const blocks = files.clientCa
        .toString("latin1")
        .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
      if (!blocks) throw new Error("no PEM certificate in it");
      for (const block of blocks) new X509Certificate(block);
    } catch (err) {
      throw new TlsFileError("INVALID_CA", "clientCa", caPath, `${caPath} is not a PEM CA bundle (${reason(err)})`);
    }
  }
  return {
    ...files,
    summary: {
      subject: cert.subject.replaceAll("\n", ", "),
      notAfter: cert.validTo,
      fingerprint256: cert.fingerprint256,
    },
  };
}

/** Reads and checks the files of a listener at once. Throws `TlsFileError`. */
export function loadTlsMaterial(paths: TlsFilePaths): TlsMaterial {
  return checkTlsMaterial(readTlsFiles(paths), paths);
}

/** What is wrong with a listener's files, for a configuration check: undefined when they can serve. */
export function tlsFilesProblem(paths: TlsFilePaths): { role: TlsFileRole; message: string } | undefined {
  try {
    loadTlsMaterial(paths);
    return undefined;
  } catch (err) {
    if (err instanceof TlsFileError) return { role: err.role, message: err.message };
    throw err;
  }
}
