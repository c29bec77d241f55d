import type { PeerCertificate, TLSSocket } from "node:tls";

const maxLength = 256;
// Per connection: a TLS connection carries many requests, and getPeerCertificate() builds a new object each call.
const identities = new WeakMap<object, string | null>();
const sanTypes = ["URI", "DNS", "email", "IP Address"] as const;
const sanEntry = /(?:^|, )(URI|DNS|email|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/**
 * The verified client certificate's identity on a TLS socket (for an HTTP/2 request, `req.socket` is the
 * session's): its first subject alternative name, preferring `URI:` (SPIFFE IDs), then `DNS:`, `email:` and
 * `IP Address:`, else `CN=<common name>`, else `sha256:<fingerprint>`. Undefined on a cleartext socket, without a
 * client certificate, and for a certificate the server did not verify: an identity nobody checked is no identity.
 */
export function callerIdentity(socket: unknown): string | undefined {
  if (typeof socket !== "object" || socket === null) return undefined;
  const known = identities.get(socket);
  if (known !== undefined) return known ?? undefined;
  const tls = socket as Partial<TLSSocket>;
  let identity: string | undefined;
  if (tls.encrypted === true && tls.authorized === true && typeof tls.getPeerCertificate === "function") {
    identity = identityOf(tls.getPeerCertificate());
  }
  identities.set(socket, identity ?? null);
  return identity;
}

/** The identity of one peer certificate (see `callerIdentity`); undefined for an empty one. */
export function identityOf(cert: PeerCertificate | Record<string, never>): string | undefined {
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const peer = cert as PeerCertificate;
  const sans = [...(peer.subjectaltname ?? "").matchAll(sanEntry)].map(([, type, value]) => ({
    type: type as (typeof sanTypes)[number],
    value: (value ?? "").startsWith('"') ? (JSON.parse(value as string) as string) : (value ?? ""),
  }));
  for (const type of sanTypes) {
    const san = sans.find((entry) => entry.type === type && entry.value !== "");
    if (san) return bounded(`${type}:${san.value}`);
  }
  const cn = peer.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (name) return bounded(`CN=${name}`);
  return peer.fingerprint256 ? `sha256:${peer.fingerprint256}` : undefined;
}

function bounded(text: string): string {
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
