// The app-secret check inside the produce path every protocol shares: first, whole-request, nothing written when
// it refuses, synchronous or not.
import { create } from "@bufbuild/protobuf";
import { noopLogger } from "@barito-flow/logger";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { createAppAuthenticator } from "../auth/app-authenticator.js";
import { createFailureLockout } from "../auth/failure-lockout.js";
import { createSecretDigester } from "../auth/secret-digest.js";
import { parseSecretTable } from "../auth/secret-table.js";
import type { OutgoingRecord } from "./ports.js";
import { createProducerService } from "./producer-service.js";

const context = { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 100, appSecret: "shop-secret" };

function setup(asynchronous: boolean) {
  const written: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
  const table = parseSecretTable(JSON.stringify({ "shop-secret": ["shop"] }), createSecretDigester());
  const authenticator = createAppAuthenticator({
    source: { lookup: (secret) => (asynchronous ? Promise.resolve(table.lookup(secret)) : table.lookup(secret)) },
    lockout: createFailureLockout({ maxFailures: 0, windowMs: 1, lockoutMs: 1 }),
  });
  const publisher = {
    isConnected: () => true,
    publish: async (topic: string, records: readonly OutgoingRecord[]) => {
      written.push({ topic, records });
    },
  };
  const service = createProducerService({
    publisher,
    topics: { ensure: async () => {}, close: async () => {} } as never,
    rateLimiter: { take: async () => ({ allowed: true, retryAfterMs: 0, limit: 1e9 }) },
    logger: noopLogger,
    authenticator,
    settings: {
      topicPrefix: "",
      topicSuffix: "_logs",
      maxBatchItems: 100,
      messageFormat: "Timber",
      maxMessageBytes: 1_000_000,
    },
  });
  const outcome = (pending: Promise<unknown>) =>
    pending.then(
      () => "ok",
      (err: { code?: string }) => err.code ?? String(err),
    );
  return { service, written, outcome };
}

const timber = (ctx: object, content: object = { message: "hi" }) =>
  create(TimberSchema, { context: ctx, content: content as never });
const batch = (ctx: object, items = 3) =>
  create(TimberCollectionSchema, {
    context: ctx,
    items: Array.from({ length: items }, (_, i) => ({ content: { n: i } as never })),
  });

describe.each([false, true])("the produce path with app-secret auth (asynchronous source: %s)", (asynchronous) => {
  it("writes what a valid secret sends to its topic, refuses the rest and writes none of it", async () => {
    const { service, written, outcome } = setup(asynchronous);
    expect(await outcome(service.produce(timber(context)))).toBe("ok");
    expect(await outcome(service.produceBatch(batch(context)))).toBe("ok");
    expect(written.map((w) => [w.topic, w.records.length])).toEqual([
      ["shop_logs", 1],
      ["shop_logs", 3],
    ]);
    written.length = 0;
    expect(await outcome(service.produce(timber({ ...context, appSecret: "" })))).toBe("UNAUTHENTICATED");
    expect(await outcome(service.produce(timber({ ...context, appSecret: "guess" })))).toBe("UNAUTHENTICATED");
    expect(await outcome(service.produce(timber({ ...context, kafkaTopic: "billing" })))).toBe("PERMISSION_DENIED");
    expect(await outcome(service.produceBatch(batch({ ...context, appSecret: "guess" })))).toBe("UNAUTHENTICATED");
    expect(await outcome(service.produceBatch(batch({ ...context, kafkaTopic: "billing" })))).toBe("PERMISSION_DENIED");
    expect(written).toEqual([]);
  });

  it("checks the secret before validating, so an unauthenticated caller learns nothing of the rules", async () => {
    const { service, outcome } = setup(asynchronous);
    expect(await outcome(service.produce(create(TimberSchema, {})))).toBe("UNAUTHENTICATED");
    expect(await outcome(service.produce(timber({ ...context, appSecret: "guess", esIndexPrefix: "UPPER" })))).toBe(
      "UNAUTHENTICATED",
    );
    expect(await outcome(service.produceBatch(batch({ ...context, appSecret: "guess" }, 0)))).toBe("UNAUTHENTICATED");
    // Authenticated, then validated as ever.
    expect(await outcome(service.produce(timber({ ...context, esIndexPrefix: "UPPER" })))).toBe("INVALID_ARGUMENT");
  });
});
