export interface LockoutSettings {
  /** Failed attempts from one address within `windowMs` that lock it out; 0 = count nothing, never lock. */
  maxFailures: number;
  windowMs: number;
  /** How long a locked address is refused without its secret being looked at. */
  lockoutMs: number;
  /** Addresses tracked at once; beyond it the longest-untouched entry is dropped. Default 10 000. */
  maxAddresses?: number;
}

export interface FailureLockout {
  /** Milliseconds the address stays locked out, 0 when it is not. */
  lockedFor(source: string): number;
  recordFailure(source: string): void;
  /** Addresses currently tracked (for tests and the bound). */
  readonly size: number;
}

interface Entry {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/**
 * Failed app-secret attempts per source address, in fixed windows: `maxFailures` within `windowMs` lock the address
 * for `lockoutMs`, during which every request from it is refused with AUTH_LOCKED_OUT, valid secret or not (a lock
 * that let valid secrets through would tell a guesser when it guessed right). Success never clears the count, so
 * one valid secret cannot be used to reset it between guesses. Memory is bounded by `maxAddresses` (about 100 bytes
 * each); an attacker with more addresses than that can push entries out, which costs it the lock it had as well.
 */
export function createFailureLockout(settings: LockoutSettings, now: () => number = Date.now): FailureLockout {
  const { maxFailures, windowMs, lockoutMs } = settings;
  const maxAddresses = settings.maxAddresses ?? 10_000;
  const entries = new Map<string, Entry>();

  return {
    get size() {
      return entries.size;
    },
    lockedFor(source) {
      const entry = entries.get(source);
      if (entry === undefined) return 0;
      const left = entry.lockedUntil - now();
      return Math.max(left, 0);
    },
    recordFailure(source) {
      if (maxFailures <= 0) return;
      const at = now();
      let entry = entries.get(source);
      if (entry !== undefined) entries.delete(source);
      if (entry === undefined || (at - entry.windowStart >= windowMs && at >= entry.lockedUntil)) {
        entry = { windowStart: at, failures: 0, lockedUntil: 0 };
      }
      entry.failures++;
      if (entry.failures >= maxFailures && entry.lockedUntil <= at) entry.lockedUntil = at + lockoutMs;
      // Re-inserted last: the Map's order is then least recently failed first, which is what is dropped.
      entries.set(source, entry);
      if (entries.size > maxAddresses) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
  };
}
