import type { SecureContextOptions, TlsOptions } from "node:tls";
import type { TlsMaterial } from "./tls-files.js";

export type TlsMinVersion = "TLSv1.2" | "TLSv1.3";

/**
 * TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, as in Mozilla's "intermediate" profile; no CBC, no RSA key
 * exchange. TLS 1.3 suites are OpenSSL's defaults, all of them AEAD.
 */
export const tls12Ciphers = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** What `setSecureContext` takes: the files and the protocol limits (which live in the context, not the server). */
export function secureContextOptions(material: TlsMaterial, minVersion: TlsMinVersion): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.clientCa ? { ca: material.clientCa } : {}),
    minVersion,
    ciphers: tls12Ciphers,
  };
}

/**
 * A server's options. With a client CA, the handshake itself refuses a client without a certificate, with an expired
 * one, or with one the CA did not sign: no request of such a client is ever read.
 */
export function serverTlsOptions(material: TlsMaterial, minVersion: TlsMinVersion): TlsOptions {
  const mutual = material.clientCa !== undefined;
  return {
    ...secureContextOptions(material, minVersion),
    requestCert: mutual,
    rejectUnauthorized: mutual,
    // Node's default is 120 s: a connection that never finishes its handshake holds a socket that long.
    handshakeTimeout: 10_000,
  };
}
