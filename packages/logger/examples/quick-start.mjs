// Runnable example: `pnpm --filter @barito-flow/logger build`, then from the repository root
// `node packages/logger/examples/quick-start.mjs` (add LOG_FORMAT=pretty for the development format).
import { createLogger } from "@barito-flow/logger";

const logger = createLogger({
  level: "debug",
  format: process.env.LOG_FORMAT === "pretty" ? "pretty" : "json",
  base: { service: "example" },
});

const kafkaLog = logger.child({ component: "kafka" });
kafkaLog.info("connected", { brokers: ["localhost:9092"], offset: 42n });
kafkaLog.error("publish failed", {
  err: Object.assign(new Error("queue full"), { code: "KAFKA_QUEUE_FULL" }),
  topic: "app_logs",
  context: { app_secret: "never printed", kafka_topic: "app" },
  redisUrl: "redis://user:never-printed@localhost:6379",
});
await logger.close();
