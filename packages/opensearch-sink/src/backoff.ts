/**
 * Exponential backoff with full jitter: the n-th retry (n >= 1) waits a uniformly random time in
 * [0, min(maxDelayMs, minDelayMs * 2^(n-1))]. Full jitter spreads many consumers that failed together, so a
 * recovering cluster is not hit by synchronised waves.
 */
export function fullJitterDelay(attempt: number, minDelayMs: number, maxDelayMs: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
