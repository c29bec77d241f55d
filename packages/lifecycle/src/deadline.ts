/**
 * Settles with the work's value, or with `undefined` once `ms` have passed. The work is not cancelled: a caller that
 * gets `undefined` must treat what it started as still running.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true once `condition()` holds, checked every `intervalMs`, or false when `ms` have passed first. */
export async function waitUntil(condition: () => boolean, ms: number, intervalMs = 50): Promise<boolean> {
  const end = Date.now() + Math.max(0, ms);
  while (!condition()) {
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return true;
}
