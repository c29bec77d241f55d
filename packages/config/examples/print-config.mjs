// Runnable example: `pnpm --filter @barito-flow/config build`, then from the repository root e.g.
// `BARITO_KAFKA_BROKERS=k1:9092,k2:9092 BARITO_REDIS_PASSWORD=s3cret node packages/config/examples/print-config.mjs`
// Prints the producer configuration with secrets redacted, or every problem at once (exit code 2).
import { ConfigError, formatConfigForLog, loadProducerConfig } from "@barito-flow/config";

try {
  const config = loadProducerConfig(process.env);
  console.log(formatConfigForLog(config));
  for (const name of config.inertVariables) console.warn(`${name} is accepted for compatibility but has no effect`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
