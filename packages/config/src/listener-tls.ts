import type { z } from "zod";
import { enumVar, stringVar } from "./env-vars.js";

export type TlsMinVersion = "TLSv1.2" | "TLSv1.3";

/** TLS on a port the app listens on (the way in; `TlsFiles` is the way out, to Kafka and OpenSearch). */
export interface ListenerTls {
  certPath: string;
  keyPath: string;
  /** Set: clients must present a certificate this CA signed (mutual TLS). */
  clientCaPath: string | undefined;
  minVersion: TlsMinVersion;
}

/** The variables of one listener's TLS, by role. */
export interface ListenerTlsNames {
  cert: string;
  key: string;
  clientCa?: string;
  minVersion: string;
}

/** Checks the PEM files (`tlsFilesProblem` of `@barito-flow/tls`): which one cannot serve, and why. */
export type TlsFilesCheck = (paths: {
  certPath: string;
  keyPath: string;
  clientCaPath?: string | undefined;
}) => { role: "cert" | "key" | "clientCa"; message: string } | undefined;

export const tlsMinVersionVar = () =>
  enumVar(["TLSv1.2", "TLSv1.3"], {
    default: "TLSv1.2",
    hints: { "1.2": "write TLSv1.2", "1.3": "write TLSv1.3", "tlsv1.1": "TLSv1.1 and older are not offered" },
  });

/** The operator port's TLS (metrics and health), in both apps. */
export const exporterTlsShape = {
  BARITO_EXPORTER_TLS_CERT: stringVar(),
  BARITO_EXPORTER_TLS_KEY: stringVar(),
  BARITO_EXPORTER_TLS_MIN_VERSION: tlsMinVersionVar(),
};

export const exporterTlsNames: ListenerTlsNames = {
  cert: "BARITO_EXPORTER_TLS_CERT",
  key: "BARITO_EXPORTER_TLS_KEY",
  minVersion: "BARITO_EXPORTER_TLS_MIN_VERSION",
};

type Values = Record<string, unknown>;

/**
 * A certificate and its key come together, a client CA needs them, and the files must serve: missing, unreadable,
 * not PEM, or a key that is not the certificate's key is a configuration error naming the variable, at startup
 * rather than at the first handshake.
 */
export function checkListenerTls(ctx: z.RefinementCtx, env: Values, names: ListenerTlsNames, check: TlsFilesCheck) {
  const [cert, key] = [env[names.cert], env[names.key]];
  const clientCa = names.clientCa === undefined ? undefined : env[names.clientCa];
  if ((cert === undefined) !== (key === undefined)) {
    const [missing, present] = cert === undefined ? [names.cert, names.key] : [names.key, names.cert];
    ctx.addIssue({ code: "custom", path: [missing], message: `is required when ${present} is set` });
    return;
  }
  if (cert === undefined) {
    if (clientCa !== undefined && names.clientCa !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [names.clientCa],
        message: `needs TLS: set ${names.cert} and ${names.key}`,
      });
    }
    return;
  }
  if (typeof cert !== "string" || typeof key !== "string") return;
  const problem = check({
    certPath: cert,
    keyPath: key,
    clientCaPath: typeof clientCa === "string" ? clientCa : undefined,
  });
  if (problem) {
    const name = { cert: names.cert, key: names.key, clientCa: names.clientCa ?? names.cert }[problem.role];
    ctx.addIssue({ code: "custom", path: [name], message: problem.message });
  }
}

/** The listener's TLS from checked variables; undefined: cleartext. */
export function toListenerTls(env: Values, names: ListenerTlsNames): ListenerTls | undefined {
  const [cert, key] = [env[names.cert], env[names.key]];
  if (typeof cert !== "string" || typeof key !== "string") return undefined;
  const clientCa = names.clientCa === undefined ? undefined : env[names.clientCa];
  return {
    certPath: cert,
    keyPath: key,
    clientCaPath: typeof clientCa === "string" ? clientCa : undefined,
    minVersion: env[names.minVersion] === "TLSv1.3" ? "TLSv1.3" : "TLSv1.2",
  };
}
