import { describe, expect, it } from "@jest/globals";
import { ProduceError } from "../produce/produce-error.js";
import { type AuthFailureReason, createAppAuthenticator, type SecretSource } from "./app-authenticator.js";
import { createFailureLockout } from "./failure-lockout.js";
import type { AppGrant } from "./secret-table.js";

const grants = new Map<string, AppGrant>([["s3cr3t", { topics: new Set(["shop", "shop-audit"]) }]]);
const syncSource: SecretSource = { lookup: (secret) => grants.get(secret) };
const asyncSource: SecretSource = { lookup: async (secret) => grants.get(secret) };

function setup(source: SecretSource, maxFailures = 3) {
  const reasons: AuthFailureReason[] = [];
  const lockout = createFailureLockout({ maxFailures, windowMs: 60_000, lockoutMs: 30_000 });
  const auth = createAppAuthenticator({ source, lockout, onFailure: (reason) => reasons.push(reason) });
  const check = async (secret: string, topic: string, source = "10.0.0.1") => {
    try {
      await auth.check({ secret, topic, source });
      return "allowed";
    } catch (err) {
      if (!(err instanceof ProduceError)) throw err;
      return `${err.code} ${err.httpStatus}`;
    }
  };
  return { auth, check, reasons };
}

describe.each([
  ["a table", syncSource],
  ["the market", asyncSource],
])("createAppAuthenticator over %s", (_, source) => {
  it("allows a known secret on its topics, 401 for a missing or unknown one, 403 on another app's topic", async () => {
    const { check, reasons } = setup(source, 0);
    expect(await check("s3cr3t", "shop")).toBe("allowed");
    expect(await check("s3cr3t", "shop-audit")).toBe("allowed");
    expect(await check("", "shop")).toBe("UNAUTHENTICATED 401");
    expect(await check("guess", "shop")).toBe("UNAUTHENTICATED 401");
    expect(await check("s3cr3t", "billing")).toBe("PERMISSION_DENIED 403");
    expect(await check("s3cr3t", "")).toBe("PERMISSION_DENIED 403");
    expect(reasons).toEqual(["missing_secret", "unknown_secret", "wrong_topic", "wrong_topic"]);
  });

  it("locks an address out after too many failures, valid secret or not, with Retry-After", async () => {
    const { auth, check, reasons } = setup(source, 3);
    for (let i = 0; i < 3; i++) expect(await check(`guess-${i}`, "shop")).toBe("UNAUTHENTICATED 401");
    expect(await check("s3cr3t", "shop")).toBe("AUTH_LOCKED_OUT 429");
    expect(await check("s3cr3t", "shop", "10.0.0.2")).toBe("allowed");
    const error = await Promise.resolve()
      .then(() => auth.check({ secret: "s3cr3t", topic: "shop", source: "10.0.0.1" }))
      .catch((err: ProduceError) => err);
    expect(error).toMatchObject({ code: "AUTH_LOCKED_OUT", connectCode: 8 });
    expect((error as ProduceError).retryAfterMs).toBeGreaterThan(29_000);
    expect(reasons.filter((r) => r === "locked_out")).toHaveLength(2);
  });

  it("never puts the secret into its errors", async () => {
    const { auth } = setup(source, 0);
    for (const [secret, topic] of [
      ["very-secret-guess", "shop"],
      ["s3cr3t", "billing"],
    ] as const) {
      const error = await Promise.resolve()
        .then(() => auth.check({ secret, topic, source: "x" }))
        .catch((err: ProduceError) => err);
      expect(error).toBeInstanceOf(ProduceError);
      expect(JSON.stringify({ ...(error as ProduceError), message: (error as Error).message })).not.toContain(secret);
    }
  });
});

describe("createAppAuthenticator", () => {
  it("answers synchronously when the source does", () => {
    const { auth } = setup(syncSource);
    expect(auth.check({ secret: "s3cr3t", topic: "shop", source: "a" })).toBeUndefined();
    expect(() => auth.check({ secret: "x", topic: "shop", source: "a" })).toThrow(ProduceError);
  });

  it("answers AUTH_UNAVAILABLE (503, retriable) when the source cannot tell, without counting a failure", async () => {
    const { check, reasons } = setup(
      {
        lookup: () => {
          throw new Error("down");
        },
      },
      1,
    );
    expect(await check("s3cr3t", "shop")).toBe("AUTH_UNAVAILABLE 503");
    expect(await check("s3cr3t", "shop")).toBe("AUTH_UNAVAILABLE 503");
    expect(reasons).toEqual(["source_unavailable", "source_unavailable"]);
  });
});
