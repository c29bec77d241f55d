// Runnable example: `pnpm --filter @barito-flow/logger build`, then from the repository root
// `node packages/logger/examples/quick-start.mjs` (add LOG_FORMAT=pretty for the development format).
import { noopLogger, redactSecrets, redactText } from "@barito-flow/logger";
import { createLogger } from "@barito-flow/logger/winston";

// The winston layer, as an app's main.ts builds it.
const logger = createLogger({
  level: "debug",
  format: process.env.LOG_FORMAT === "pretty" ? "pretty" : "json",
  base: { service: "example" },
});

// A library takes any Logger and defaults to noopLogger.
function connect(options = {}) {
  const log = (options.logger ?? noopLogger).child({ component: "kafka" });
  log.info("connected", { brokers: ["localhost:9092"], offset: 42n });
  log.error("publish failed", {
    err: Object.assign(new Error("queue full"), { code: "KAFKA_QUEUE_FULL" }),
    topic: "app_logs",
    context: { app_secret: "never printed", kafka_topic: "app" },
    redisUrl: "redis://user:never-printed@localhost:6379",
  });
}
connect({ logger });
connect(); // silent

// The same secret rules, for text and data that do not go through a logger (errors, printed configuration).
console.log(redactText("connect ECONNREFUSED https://elastic:never-printed@es:9200", ["known-secret"]));
console.log(redactSecrets({ sasl: { username: "u", password: "never-printed" }, caPath: "/etc/ca.pem" }));
await logger.close();
