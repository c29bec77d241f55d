export type RateLimitErrorCode = "INVALID_ARGUMENT" | "INVALID_OPTIONS" | "CLOSED";

/**
 * Thrown (as a rejected promise from `take`) only for caller mistakes: a bad cost, bad options, or use after
 * `close()`. Redis being down is never an error for the caller: the limiter answers from its local fallback instead.
 */
export class RateLimitError extends Error {
  override readonly name = "RateLimitError";
  readonly retriable = false;

  constructor(
    readonly code: RateLimitErrorCode,
    /** Which argument or option was wrong, e.g. `cost` or `intervalMs`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
