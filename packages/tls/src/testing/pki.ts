// Test certificates made with the system's openssl (/usr/bin/openssl), for tests and benchmarks that need real TLS.
// Not for production: keys are unencrypted, in a temporary directory, valid for two days.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const openssl = "/usr/bin/openssl";

export interface IssuedCert {
  certPath: string;
  keyPath: string;
}

export interface TestCa extends IssuedCert {
  /** A server certificate (serverAuth) for `sans` (default localhost and 127.0.0.1). */
  server(name: string, options?: { sans?: string[]; cn?: string }): IssuedCert;
  /** A client certificate (clientAuth); `expired` makes one whose validity ended in 2020. */
  client(name: string, options?: { sans?: string[]; cn?: string; expired?: boolean }): IssuedCert;
}

export interface TestPki {
  dir: string;
  /** A new self-signed CA in its own directory. */
  ca(name: string): TestCa;
  /** Removes every file. */
  remove(): void;
}

function run(args: string[]): void {
  execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
}

const keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export function createTestPki(dir = mkdtempSync(join(tmpdir(), "barito-pki-"))): TestPki {
  return {
    dir,
    ca(caName) {
      const caDir = join(dir, caName);
      mkdirSync(join(caDir, "issued"), { recursive: true });
      const ca = { certPath: join(caDir, "ca.crt"), keyPath: join(caDir, "ca.key") };
      run([
        "req",
        "-x509",
        ...keyArgs,
        "-keyout",
        ca.keyPath,
        "-out",
        ca.certPath,
        "-days",
        "2",
        "-subj",
        `/CN=${caName}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      // `openssl ca` is the one way (OpenSSL 3.0) to set a start date in the past, for the expired certificate.
      writeFileSync(join(caDir, "index.txt"), "");
      writeFileSync(join(caDir, "serial"), "1000\n");
      writeFileSync(
        join(caDir, "ca.cnf"),
        [
          "[ca]",
          "default_ca = test",
          "[test]",
          `database = ${join(caDir, "index.txt")}`,
          `new_certs_dir = ${join(caDir, "issued")}`,
          `serial = ${join(caDir, "serial")}`,
          "default_md = sha256",
          "policy = anything",
          "copy_extensions = copy",
          "unique_subject = no",
          "[anything]",
          "commonName = supplied",
          "",
        ].join("\n"),
      );

      function issue(name: string, usage: "serverAuth" | "clientAuth", cn: string, sans: string[], expired: boolean) {
        const out = { certPath: join(caDir, `${name}.crt`), keyPath: join(caDir, `${name}.key`) };
        const csr = join(caDir, `${name}.csr`);
        const extensions = [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature",
          `extendedKeyUsage=${usage}`,
          ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
        ];
        run([
          "req",
          "-new",
          ...keyArgs,
          "-keyout",
          out.keyPath,
          "-out",
          csr,
          "-subj",
          `/CN=${cn}`,
          ...extensions.flatMap((ext) => ["-addext", ext]),
        ]);
        if (expired) {
          run([
            "ca",
            "-batch",
            "-notext",
            "-config",
            join(caDir, "ca.cnf"),
            "-cert",
            ca.certPath,
            "-keyfile",
            ca.keyPath,
            "-in",
            csr,
            "-out",
            out.certPath,
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
          ]);
        } else {
          const ext = join(caDir, `${name}.ext`);
          writeFileSync(ext, `${extensions.join("\n")}\n`);
          run([
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca.certPath,
            "-CAkey",
            ca.keyPath,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            out.certPath,
          ]);
        }
        return out;
      }
      return {
        ...ca,
        server: (name, options = {}) =>
          issue(name, "serverAuth", options.cn ?? name, options.sans ?? ["DNS:localhost", "IP:127.0.0.1"], false),
        client: (name, options = {}) =>
          issue(name, "clientAuth", options.cn ?? name, options.sans ?? [], options.expired === true),
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
