import { durationVar, enumVar, integerVar, stringVar, urlVar } from "@barito-flow/config";
import type { z } from "zod";
import { createSecretDigester } from "./secret-digest.js";
import { parseSecretTable, SecretTableError } from "./secret-table.js";

/** The producer's app-authentication variables (see README.md, "Security"); spread into producerEnvShape. */
export const authEnvShape = {
  BARITO_PRODUCER_AUTH: enumVar(["none", "app-secret"], { default: "none" }),
  BARITO_PRODUCER_AUTH_SECRETS: stringVar({ trim: false, check: checkInlineSecrets }),
  BARITO_PRODUCER_AUTH_SECRETS_FILE: stringVar(),
  BARITO_PRODUCER_AUTH_SECRETS_RELOAD_INTERVAL: durationVar({ default: "10s", unit: "s", minMs: 100 }),
  BARITO_PRODUCER_AUTH_MARKET_URL: urlVar(),
  BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN: stringVar({ trim: false }),
  BARITO_PRODUCER_AUTH_MARKET_CACHE_TTL: durationVar({ default: "60s", unit: "s", minMs: 1_000 }),
  BARITO_PRODUCER_AUTH_MARKET_TIMEOUT: durationVar({ default: "3s", unit: "s", minMs: 1 }),
  BARITO_PRODUCER_AUTH_MAX_FAILURES: integerVar({ default: 30, min: 0 }),
  BARITO_PRODUCER_AUTH_FAILURE_WINDOW: durationVar({ default: "1m", unit: "s", minMs: 1 }),
  BARITO_PRODUCER_AUTH_LOCKOUT: durationVar({ default: "1m", unit: "s", minMs: 1 }),
};

type AuthEnv = z.output<z.ZodObject<typeof authEnvShape>>;

export type AuthSourceSettings =
  | { kind: "inline"; secrets: string }
  | { kind: "file"; path: string; reloadIntervalMs: number }
  | { kind: "market"; url: string; accessToken: string | undefined; cacheTtlMs: number; timeoutMs: number };

export type AuthSettings =
  | { mode: "none" }
  | {
      mode: "app-secret";
      source: AuthSourceSettings;
      lockout: { maxFailures: number; windowMs: number; lockoutMs: number };
    };

function checkInlineSecrets(value: string): string | undefined {
  try {
    parseSecretTable(value, createSecretDigester());
    return undefined;
  } catch (err) {
    return err instanceof SecretTableError ? err.message : "cannot be read";
  }
}

/** The market URL is printed with the configuration: its credentials belong in their own secret variable. */
function marketUrlProblem(value: string): string | undefined {
  const url = new URL(value);
  // fetch refuses URLs with credentials; the market authenticates with access_token instead.
  if (url.username !== "" || url.password !== "") return "must not carry a user or password";
  const query = url.searchParams;
  if (query.has("access_token")) return "must not carry access_token: set BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN";
  if (query.has("app_secret")) return "must not carry app_secret: the producer adds each request's";
  return undefined;
}

const sourceVariables = [
  "BARITO_PRODUCER_AUTH_SECRETS",
  "BARITO_PRODUCER_AUTH_SECRETS_FILE",
  "BARITO_PRODUCER_AUTH_MARKET_URL",
] as const;

/** Exactly one source with app-secret, none without; the market token only with the market. */
export function checkAuthEnv(env: AuthEnv, ctx: z.RefinementCtx): void {
  const set = sourceVariables.filter((name) => env[name] !== undefined);
  if (env.BARITO_PRODUCER_AUTH === "app-secret") {
    if (set.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["BARITO_PRODUCER_AUTH"],
        message: `app-secret needs one source of secrets: ${sourceVariables.join(", ")}`,
      });
    } else if (set.length > 1) {
      ctx.addIssue({ code: "custom", path: [set[1] as string], message: `only one of ${set.join(", ")} may be set` });
    }
  } else if (env.BARITO_PRODUCER_AUTH === "none") {
    for (const name of set) {
      ctx.addIssue({ code: "custom", path: [name], message: "is set but BARITO_PRODUCER_AUTH is not app-secret" });
    }
  }
  const url = env.BARITO_PRODUCER_AUTH_MARKET_URL;
  const urlProblem = typeof url === "string" ? marketUrlProblem(url) : undefined;
  if (urlProblem !== undefined) {
    ctx.addIssue({ code: "custom", path: ["BARITO_PRODUCER_AUTH_MARKET_URL"], message: urlProblem });
  }
  if (env.BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN !== undefined && env.BARITO_PRODUCER_AUTH_MARKET_URL === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN"],
      message: "is set but BARITO_PRODUCER_AUTH_MARKET_URL is not",
    });
  }
}

export function toAuthSettings(env: AuthEnv): AuthSettings {
  if (env.BARITO_PRODUCER_AUTH !== "app-secret") return { mode: "none" };
  const lockout = {
    maxFailures: env.BARITO_PRODUCER_AUTH_MAX_FAILURES,
    windowMs: env.BARITO_PRODUCER_AUTH_FAILURE_WINDOW,
    lockoutMs: env.BARITO_PRODUCER_AUTH_LOCKOUT,
  };
  let source: AuthSourceSettings;
  if (env.BARITO_PRODUCER_AUTH_SECRETS !== undefined) {
    source = { kind: "inline", secrets: env.BARITO_PRODUCER_AUTH_SECRETS };
  } else if (env.BARITO_PRODUCER_AUTH_SECRETS_FILE !== undefined) {
    source = {
      kind: "file",
      path: env.BARITO_PRODUCER_AUTH_SECRETS_FILE,
      reloadIntervalMs: env.BARITO_PRODUCER_AUTH_SECRETS_RELOAD_INTERVAL,
    };
  } else {
    source = {
      kind: "market",
      url: env.BARITO_PRODUCER_AUTH_MARKET_URL as string,
      accessToken: env.BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN,
      cacheTtlMs: env.BARITO_PRODUCER_AUTH_MARKET_CACHE_TTL,
      timeoutMs: env.BARITO_PRODUCER_AUTH_MARKET_TIMEOUT,
    };
  }
  return { mode: "app-secret", source, lockout };
}
