// Runnable example: `pnpm --filter @barito-flow/config build`, then from the repository root e.g.
// `BARITO_KAFKA_SASL_MECHANISM=plain BARITO_KAFKA_SASL_USERNAME=u BARITO_KAFKA_SASL_PASSWORD=s3cret \
//  node packages/config/examples/print-config.mjs`
// An app's schema: the shared fragment plus one variable of its own. Prints the configuration with secrets
// redacted, or every problem at once (exit code 2); try `EXAMPLE_BATCH_SIZE=0 BARITO_KAFKA_BROKERS=kafka`.
import {
  allIssues,
  checkSharedEnv,
  ConfigError,
  inertSharedVariables,
  integerVar,
  loadConfig,
  redactConfig,
  sharedEnvShape,
  toSharedConfig,
} from "@barito-flow/config";
import { z } from "zod";

const exampleEnvSchema = z
  .object({ ...sharedEnvShape, EXAMPLE_BATCH_SIZE: integerVar({ default: 100, min: 1 }) })
  .superRefine(checkSharedEnv, allIssues)
  .transform((env) => ({
    ...toSharedConfig(env, env, "example-app", inertSharedVariables),
    batchSize: env.EXAMPLE_BATCH_SIZE,
  }));

try {
  const config = loadConfig(exampleEnvSchema, process.env); // deeply frozen
  console.log(JSON.stringify(redactConfig(config)));
  for (const name of config.inertVariables) console.warn(`${name} is accepted for compatibility but has no effect`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
