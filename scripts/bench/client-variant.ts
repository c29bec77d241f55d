// A preload for measuring a change to the native client side by side (packages/kafka README, "The patched binding"):
// it resolves `@confluentinc/kafka-javascript` to a copy of the package instead of the installed one.
//   BENCH_CLIENT_VARIANT=/tmp/variants/a          every process started with it loads that copy;
//   BENCH_CLIENT_VARIANTS=/tmp/v/a,/tmp/v/b       `pnpm bench consumer` round r loads copy (r-1) mod n, read from the
//                                                 round number that ends the bench's consumer group id.
// Usage: BENCH_CONSUMER_NODE_ARGS="--import ./scripts/bench/client-variant.ts" BENCH_CLIENT_VARIANTS=... pnpm bench consumer
// A copy needs the package's runtime dependencies beside it (`bindings`, `file-uri-to-path` in a node_modules above it).
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";

function chosenVariant(): string | undefined {
  const rotation = process.env.BENCH_CLIENT_VARIANTS?.split(",").filter(Boolean);
  const round = Number(/-(\d+)$/.exec(process.env.BARITO_KAFKA_GROUP_ID ?? "")?.[1]);
  if (rotation !== undefined && rotation.length > 0 && round > 0) return rotation[(round - 1) % rotation.length];
  return process.env.BENCH_CLIENT_VARIANT || undefined;
}

const variant = chosenVariant();
if (variant !== undefined) {
  const url = pathToFileURL(`${variant}/lib/index.js`).href;
  registerHooks({
    resolve(specifier, context, next) {
      return specifier === "@confluentinc/kafka-javascript"
        ? { url, format: "commonjs", shortCircuit: true }
        : next(specifier, context);
    },
  });
  process.stderr.write(`${JSON.stringify({ msg: "native client variant", variant, pid: process.pid })}\n`);
}
