import { ProduceError } from "../produce/produce-error.js";
import type { Authenticator, AuthRequest } from "../produce/ports.js";
import type { FailureLockout } from "./failure-lockout.js";
import type { AppGrant } from "./secret-table.js";

/** Where the allowed secrets come from: a table (inline, file) answers at once, the market may need a request. */
export interface SecretSource {
  /** The secret's grant, or undefined when the secret is unknown. Throws AUTH_UNAVAILABLE when it cannot tell. */
  lookup(secret: string): AppGrant | undefined | Promise<AppGrant | undefined>;
}

/** The label values of barito_producer_auth_failures_total: never a secret, never a topic. */
export type AuthFailureReason =
  | "missing_secret"
  | "unknown_secret"
  | "wrong_topic"
  | "locked_out"
  | "source_unavailable";

export interface AppAuthenticatorOptions {
  source: SecretSource;
  lockout: FailureLockout;
  onFailure?: (reason: AuthFailureReason) => void;
}

const secretField = "context.app_secret";

/**
 * BARITO_PRODUCER_AUTH=app-secret: the request's `context.app_secret` must be a known secret whose grant includes
 * the request's `context.kafka_topic`. One context per request (a batch has one), so a request is wholly allowed or
 * wholly refused, before anything of it is encoded or sent.
 */
export function createAppAuthenticator(options: AppAuthenticatorOptions): Authenticator {
  const { source, lockout, onFailure = () => {} } = options;

  function refuse(reason: AuthFailureReason, request: AuthRequest): ProduceError {
    onFailure(reason);
    lockout.recordFailure(request.source ?? "unknown");
    if (reason === "wrong_topic") {
      return new ProduceError("PERMISSION_DENIED", `this app secret may not write to kafka_topic "${request.topic}"`, {
        details: [{ field: "context.kafka_topic", reason: "not a topic of the app this secret belongs to" }],
      });
    }
    const missing = reason === "missing_secret";
    return new ProduceError(
      "UNAUTHENTICATED",
      missing
        ? `${secretField} is required (BARITO_PRODUCER_AUTH=app-secret)`
        : `${secretField} is not a known app secret`,
      { details: [{ field: secretField, reason: missing ? "required" : "unknown app secret" }] },
    );
  }

  function decide(grant: AppGrant | undefined, request: AuthRequest): void {
    if (grant === undefined) throw refuse("unknown_secret", request);
    if (!grant.topics.has(request.topic)) throw refuse("wrong_topic", request);
  }

  return {
    check(request) {
      const locked = lockout.lockedFor(request.source ?? "unknown");
      if (locked > 0) {
        onFailure("locked_out");
        throw new ProduceError(
          "AUTH_LOCKED_OUT",
          "too many failed app-secret attempts from this address; retry later (BARITO_PRODUCER_AUTH_MAX_FAILURES)",
          { retryAfterMs: locked },
        );
      }
      if (request.secret === "") throw refuse("missing_secret", request);
      let found: ReturnType<SecretSource["lookup"]>;
      try {
        found = source.lookup(request.secret);
      } catch (err) {
        throw unavailable(err, onFailure);
      }
      if (found instanceof Promise) {
        return found.then(
          (grant) => decide(grant, request),
          (err: unknown) => {
            throw unavailable(err, onFailure);
          },
        );
      }
      decide(found, request);
    },
  };
}

function unavailable(err: unknown, onFailure: (reason: AuthFailureReason) => void): ProduceError {
  onFailure("source_unavailable");
  if (err instanceof ProduceError) return err;
  return new ProduceError("AUTH_UNAVAILABLE", "the app-secret source is unreachable; retry later", {
    retryAfterMs: 5_000,
    cause: err,
  });
}
