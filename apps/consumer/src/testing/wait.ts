// Polling for what the consumer's integration tests wait on: a condition, or a probe's value.
import { setTimeout as sleep } from "node:timers/promises";

/** True as soon as `condition` holds, else what it says once more after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(everyMs);
  }
  return condition();
}

/** The first value of `probe` that is `done`, or its last one after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(250);
    value = await probe();
  }
  return value;
}
