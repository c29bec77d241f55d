// Runnable example: `pnpm --filter @barito-flow/push-metrics build`, then from the repository root
// `node packages/push-metrics/examples/market-push.mjs`. A stand-in market on a loopback port prints what it receives;
// the first push is refused (503), so its counts travel with the second.
import { createServer } from "node:http";
import { createPushMetrics } from "@barito-flow/push-metrics";

let requests = 0;
const market = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    requests++;
    console.log(`market got #${requests}: ${body}`);
    res.writeHead(requests === 1 ? 503 : 200).end();
  });
});
await new Promise((resolve) => market.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${market.address().port}/api/increase_log_count`;

const push = createPushMetrics({
  url,
  intervalMs: 500,
  onPush: (result) => console.log("push:", JSON.stringify(result)),
});
push.start();
push.add("app-secret-1", 10);
push.add("app-secret-2", 3);
setTimeout(() => push.add("app-secret-1", 5), 700);
setTimeout(async () => {
  await push.stop(1_000);
  market.close();
}, 1_600);
