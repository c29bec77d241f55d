/**
 * The n-th (n >= 1) step of an exponential backoff: min(maxDelayMs, minDelayMs * 2^(n-1)). The sink's retries wait
 * a random part of it (`fullJitterDelay`); the HTTP client pauses a failing node for all of it.
 */
export function exponentialDelay(attempt: number, minDelayMs: number, maxDelayMs: number): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(maxDelayMs, minDelayMs * 2 ** exponent);
}

/**
 * Exponential backoff with full jitter: the n-th retry (n >= 1) waits a uniformly random time in
 * [0, exponentialDelay(n)). Full jitter spreads many consumers that failed together, so a recovering cluster is not
 * hit by synchronised waves.
 */
export function fullJitterDelay(attempt: number, minDelayMs: number, maxDelayMs: number, random: () => number): number {
  return Math.floor(random() * exponentialDelay(attempt, minDelayMs, maxDelayMs));
}
