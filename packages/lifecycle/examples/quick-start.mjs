// Runnable example: `pnpm --filter @barito-flow/lifecycle build`, then from the repository root
// `node packages/lifecycle/examples/quick-start.mjs`, and press Ctrl-C once (a graceful stop), or twice (at once).
import { setTimeout as sleep } from "node:timers/promises";
import { installShutdown, withDeadline } from "@barito-flow/lifecycle";

let inFlight = 0;
const work = setInterval(() => {
  inFlight++;
  void sleep(2_000).then(() => inFlight--);
}, 100);

installShutdown({
  timeoutMs: 5_000,
  // Stop taking work, finish what was taken within the budget, say how it went.
  async stop(timeoutMs) {
    clearInterval(work);
    const drained = await withDeadline(
      (async () => {
        while (inFlight > 0) await sleep(50);
        return true;
      })(),
      timeoutMs,
    );
    return { drained: drained === true, closed: true };
  },
  logger: { ...console, child: () => console },
});
console.log(`pid ${process.pid}: working; Ctrl-C to stop (exit 0 after the drain), twice to end at once (130)`);
