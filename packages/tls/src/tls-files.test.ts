import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createTestPki } from "./testing/pki.js";
import { loadTlsMaterial, TlsFileError } from "./tls-files.js";

const pki = createTestPki();
const ca = pki.ca("ca");
const server = ca.server("server");
const other = ca.server("other");
afterAll(() => pki.remove());

function refusal(run: () => unknown): TlsFileError {
  try {
    run();
  } catch (err) {
    if (err instanceof TlsFileError) return err;
    throw err;
  }
  throw new Error("no TlsFileError");
}

describe("loadTlsMaterial", () => {
  it("loads a certificate with its key, and a client CA", () => {
    const material = loadTlsMaterial({ ...server, clientCaPath: ca.certPath });
    expect(material.summary.subject).toBe("CN=server");
    expect(material.clientCa?.toString()).toContain("BEGIN CERTIFICATE");
    expect(loadTlsMaterial(server).clientCa).toBeUndefined();
  });

  it("names the file that cannot serve, and never quotes the key", () => {
    expect(refusal(() => loadTlsMaterial({ ...server, certPath: join(pki.dir, "missing.crt") }))).toMatchObject({
      code: "UNREADABLE",
      role: "cert",
      message: expect.stringContaining("ENOENT"),
    });
    const garbage = join(pki.dir, "garbage.pem");
    writeFileSync(garbage, "not a pem");
    expect(refusal(() => loadTlsMaterial({ ...server, certPath: garbage }))).toMatchObject({
      code: "INVALID_CERT",
      role: "cert",
    });
    expect(refusal(() => loadTlsMaterial({ ...server, keyPath: garbage }))).toMatchObject({
      code: "INVALID_KEY",
      role: "key",
    });
    // A certificate given as the key is no key either.
    expect(refusal(() => loadTlsMaterial({ ...server, keyPath: server.certPath }))).toMatchObject({ role: "key" });
    expect(refusal(() => loadTlsMaterial({ ...server, clientCaPath: garbage }))).toMatchObject({
      code: "INVALID_CA",
      role: "clientCa",
    });
    const mismatch = refusal(() => loadTlsMaterial({ certPath: server.certPath, keyPath: other.keyPath }));
    expect(mismatch).toMatchObject({ code: "KEY_MISMATCH", role: "key", path: other.keyPath });
    expect(mismatch.message).not.toContain("PRIVATE KEY");
  });

  it("refuses a CA bundle with one broken certificate among good ones", () => {
    const bundle = join(pki.dir, "bundle.pem");
    copyFileSync(ca.certPath, bundle);
    writeFileSync(bundle, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", { flag: "a" });
    expect(refusal(() => loadTlsMaterial({ ...server, clientCaPath: bundle }))).toMatchObject({ code: "INVALID_CA" });
  });
});
