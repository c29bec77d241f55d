import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "@jest/globals";
import { callerIdentity, identityOf } from "./caller-identity.js";

const cert = (fields: Partial<PeerCertificate>) => ({ fingerprint256: "AA:BB", ...fields }) as PeerCertificate;

describe("identityOf", () => {
  it("prefers a URI SAN, then DNS, email, IP, then the subject CN, then the fingerprint", () => {
    const subject = { CN: "shop-client" } as PeerCertificate["subject"];
    expect(identityOf(cert({ subject, subjectaltname: "DNS:shop.example, URI:spiffe://barito/shop" }))).toBe(
      "URI:spiffe://barito/shop",
    );
    expect(identityOf(cert({ subject, subjectaltname: "IP Address:10.0.0.1, DNS:shop.example" }))).toBe(
      "DNS:shop.example",
    );
    expect(identityOf(cert({ subject, subjectaltname: "IP Address:10.0.0.1, email:ops@shop.example" }))).toBe(
      "email:ops@shop.example",
    );
    expect(identityOf(cert({ subject, subjectaltname: "IP Address:10.0.0.1" }))).toBe("IP Address:10.0.0.1");
    expect(identityOf(cert({ subject }))).toBe("CN=shop-client");
    expect(identityOf(cert({ subject: { CN: ["first", "second"] } as never }))).toBe("CN=first");
    expect(identityOf(cert({}))).toBe("sha256:AA:BB");
    expect(identityOf({})).toBeUndefined();
  });

  it("reads a quoted SAN (one holding a comma) whole, and bounds a long one", () => {
    expect(identityOf(cert({ subjectaltname: 'URI:"spiffe://x/a,b"' }))).toBe("URI:spiffe://x/a,b");
    const long = identityOf(cert({ subjectaltname: `DNS:${"a".repeat(1000)}` }));
    expect(long?.length).toBe(257);
  });
});

describe("callerIdentity", () => {
  const socket = (fields: Record<string, unknown>) => ({
    getPeerCertificate: () => cert({ subject: { CN: "c" } as PeerCertificate["subject"] }),
    ...fields,
  });

  it("answers only for a verified certificate on a TLS socket", () => {
    expect(callerIdentity(socket({ encrypted: true, authorized: true }))).toBe("CN=c");
    expect(callerIdentity(socket({ encrypted: true, authorized: false }))).toBeUndefined();
    expect(callerIdentity(socket({}))).toBeUndefined();
    expect(callerIdentity(undefined)).toBeUndefined();
  });

  it("reads a connection's certificate once", () => {
    let reads = 0;
    const getPeerCertificate = () => {
      reads++;
      return cert({});
    };
    const s = socket({ encrypted: true, authorized: true, getPeerCertificate });
    callerIdentity(s);
    callerIdentity(s);
    expect(reads).toBe(1);
  });
});
