import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect as connectTcp } from "node:net";
import { join } from "node:path";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import type { Logger } from "@barito-flow/logger";
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { createTlsCertificates, type TlsCertificates } from "./certificates.js";
import { createTestPki, type IssuedCert } from "./testing/pki.js";

const pki = createTestPki();
const ca = pki.ca("ca");
const first = ca.server("first");
const second = ca.server("second");
const client = ca.client("client");
afterAll(() => pki.remove());

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function recordingLogger() {
  const lines: Array<{ level: string; msg: string; meta?: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: (msg, meta) => lines.push({ level: "debug", msg, meta }),
    info: (msg, meta) => lines.push({ level: "info", msg, meta }),
    warn: (msg, meta) => lines.push({ level: "warn", msg, meta }),
    error: (msg, meta) => lines.push({ level: "error", msg, meta }),
    child: () => logger,
  };
  return { logger, lines };
}

/** A Kubernetes Secret volume: the files are symlinks into `..data`, itself a symlink swapped at each update. */
function secretVolume(name: string, files: IssuedCert) {
  const dir = join(pki.dir, name);
  let version = 0;
  const publish = (from: IssuedCert) => {
    const target = `..v${++version}`;
    mkdirSync(join(dir, target), { recursive: true });
    copyFileSync(from.certPath, join(dir, target, "tls.crt"));
    copyFileSync(from.keyPath, join(dir, target, "tls.key"));
    symlinkSync(target, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  publish(files);
  symlinkSync("..data/tls.crt", join(dir, "tls.crt"));
  symlinkSync("..data/tls.key", join(dir, "tls.key"));
  return { paths: { certPath: join(dir, "tls.crt"), keyPath: join(dir, "tls.key") }, publish };
}

async function serve(certs: TlsCertificates): Promise<{ server: Server; port: number }> {
  const server = createServer(certs.serverOptions(), (socket) => socket.on("data", (d) => socket.write(d)));
  certs.attach(server, "test");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    server.close();
    certs.close();
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function open(port: number, options: { cert?: IssuedCert } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: "127.0.0.1",
      servername: "localhost",
      ca: readFileSync(ca.certPath),
      ...(options.cert ? { cert: readFileSync(options.cert.certPath), key: readFileSync(options.cert.keyPath) } : {}),
    });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
    cleanup.push(() => socket.destroy());
  });
}

function echo(socket: TLSSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once("data", (d: Buffer) => resolve(d.toString()));
    socket.once("error", reject);
    socket.write(text);
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const subjectOf = async (port: number) => (await open(port)).getPeerCertificate().subject.CN;

describe("createTlsCertificates", () => {
  it("takes a Secret volume's symlink swap: new connections get the new certificate, open ones keep working", async () => {
    const volume = secretVolume("swap", first);
    const { logger, lines } = recordingLogger();
    const { port } = await serve(createTlsCertificates({ paths: volume.paths, pollIntervalMs: 20, logger }));
    const old = await open(port);
    expect(old.getPeerCertificate().subject.CN).toBe("first");
    volume.publish(second);
    await waitFor(async () => (await subjectOf(port)) === "second");
    expect(await echo(old, "still here")).toBe("still here");
    expect(lines).toContainEqual(expect.objectContaining({ level: "info", msg: "TLS certificate reloaded" }));
  });

  it("keeps the certificate in use when the new files do not check out, and says so once", async () => {
    const volume = secretVolume("bad", first);
    const { logger, lines } = recordingLogger();
    const { port } = await serve(createTlsCertificates({ paths: volume.paths, pollIntervalMs: 20, logger }));
    // The new certificate with the old key: a rotation gone wrong.
    volume.publish({ certPath: second.certPath, keyPath: first.keyPath });
    await waitFor(() => lines.some((line) => line.level === "error"));
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.filter((line) => line.level === "error")).toEqual([
      expect.objectContaining({ meta: expect.objectContaining({ code: "KEY_MISMATCH" }) }),
    ]);
    expect(await subjectOf(port)).toBe("first");
    // Gone for good (a Secret deleted): said once too, and the certificate in use stays.
    const { rmSync } = await import("node:fs");
    rmSync(join(pki.dir, "bad", "..data"));
    await waitFor(() => lines.filter((line) => line.level === "error").length === 2);
    expect(lines.filter((line) => line.level === "error")[1]?.meta).toMatchObject({ code: "UNREADABLE" });
    expect(await subjectOf(port)).toBe("first");
    // Fixed: taken at the next poll.
    volume.publish(second);
    await waitFor(async () => (await subjectOf(port)) === "second");
  });

  it("reloads on demand (SIGHUP), without polling", async () => {
    const dir = join(pki.dir, "on-demand");
    mkdirSync(dir);
    const paths = { certPath: join(dir, "tls.crt"), keyPath: join(dir, "tls.key") };
    copyFileSync(first.certPath, paths.certPath);
    copyFileSync(first.keyPath, paths.keyPath);
    const certs = createTlsCertificates({ paths, pollIntervalMs: 0 });
    const { port } = await serve(certs);
    expect(certs.reload()).toBe(false);
    // An editor's save: a new file renamed over the old one.
    copyFileSync(second.certPath, `${paths.certPath}.tmp`);
    renameSync(`${paths.certPath}.tmp`, paths.certPath);
    copyFileSync(second.keyPath, paths.keyPath);
    await new Promise((r) => setTimeout(r, 60));
    expect(await subjectOf(port)).toBe("first");
    expect(certs.reload()).toBe(true);
    expect(await subjectOf(port)).toBe("second");
    writeFileSync(paths.certPath, "garbage");
    expect(certs.reload()).toBe(false);
    expect(await subjectOf(port)).toBe("second");
  });

  it("with a client CA, refuses a client without a certificate at the handshake and logs it", async () => {
    const { logger, lines } = recordingLogger();
    const certs = createTlsCertificates({
      paths: { ...first, clientCaPath: ca.certPath },
      logger,
      minVersion: "TLSv1.3",
    });
    expect(certs.mutual).toBe(true);
    const { port } = await serve(certs);
    const withCert = await open(port, { cert: client });
    expect(await echo(withCert, "hi")).toBe("hi");
    // TLS 1.3: the client learns of the refusal on its first read, after its side of the handshake.
    const without = await open(port).catch((err: unknown) => err);
    const refused =
      without instanceof Error ? without : await echo(without as TLSSocket, "hi").catch((err: unknown) => err);
    expect(String((refused as Error).message)).toMatch(/certificate required/);
    await waitFor(() => lines.some((line) => line.msg === "TLS handshake refused"));
    expect(lines.find((line) => line.msg === "TLS handshake refused")?.meta).toMatchObject({
      listener: "test",
      remoteAddress: "127.0.0.1",
    });
  });

  it("does not call a client that leaves mid-handshake (a TCP health check) a refusal", async () => {
    const { logger, lines } = recordingLogger();
    const { port } = await serve(createTlsCertificates({ paths: { ...first, clientCaPath: ca.certPath }, logger }));
    await new Promise<void>((resolve) => {
      const socket = connectTcp(port, "127.0.0.1", () => socket.end("\x16\x03\x01"));
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });
    await waitFor(() => lines.length > 0);
    expect(lines.map((line) => line.level)).not.toContain("warn");
  });
});
