// Runnable example: `pnpm --filter @barito-flow/consul-discovery build`, then from the repository root
// `node packages/consul-discovery/examples/lookup.mjs`. A Consul stand-in answers /v1/health/service/kafka with one
// passing and one critical broker; then the passing one moves, and a refresh (a client's connection failed) sees it.
import { createServer } from "node:http";
import { discoverServices } from "@barito-flow/consul-discovery";

let passing = "10.0.0.1";
const consul = createServer((req, res) => {
  const entry = (address, status) => ({
    Node: { Address: address },
    Service: { Address: address, Port: 9092 },
    Checks: [{ Status: status }],
  });
  console.log(`consul: ${req.url}`);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify([entry(passing, "passing"), entry("10.0.0.9", "critical")]));
});
await new Promise((resolve) => consul.listen(0, "127.0.0.1", resolve));

const services = await discoverServices({ consulUrl: `127.0.0.1:${consul.address().port}`, kafka: "kafka", minIntervalMs: 100 });
console.log("brokers at startup:", services.kafka.current());
passing = "10.0.0.2";
await new Promise((resolve) => setTimeout(resolve, 150));
console.log("brokers after a refresh:", await services.kafka.refresh());
consul.close();
