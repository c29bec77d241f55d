import { describe, expect, it } from "@jest/globals";
import type { Logger } from "@barito-flow/logger";
import { authenticationLogIntervalMs, createLibrdkafkaLogger } from "./librdkafka-logger.js";

interface Entry {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  meta: Record<string, unknown> | undefined;
  bound: Record<string, unknown>;
}

/** A Logger that records every call, including the fields bound by `child()`. */
function recordingLogger(entries: Entry[] = [], bound: Record<string, unknown> = {}): Logger & { entries: Entry[] } {
  const at =
    (level: Entry["level"]) =>
    (msg: string, meta?: Record<string, unknown>): void => {
      entries.push({ level, msg, meta, bound });
    };
  return {
    entries,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (meta) => recordingLogger(entries, { ...bound, ...meta }),
  };
}

const kafkaJSLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 3, DEBUG: 4 } as const;

describe("createLibrdkafkaLogger()", () => {
  it("forwards each level to the same level with the extra fields as meta", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, []);
    adapter.error("Connect failed", { fac: "FAIL", name: "rdkafka#producer-1" });
    adapter.warn("slow", { fac: "REQTMOUT" });
    adapter.info("connected");
    expect(logger.entries.map(({ level, msg, meta }) => ({ level, msg, meta }))).toEqual([
      { level: "error", msg: "Connect failed", meta: { fac: "FAIL", name: "rdkafka#producer-1" } },
      { level: "warn", msg: "slow", meta: { fac: "REQTMOUT" } },
      { level: "info", msg: "connected", meta: {} },
    ]);
  });

  it("logs a just-created topic being briefly unknown as a warning, not an error; records connection failures", () => {
    const logger = recordingLogger();
    const diagnostics: { lastBrokerFailure?: string } = {};
    const adapter = createLibrdkafkaLogger(logger, ["s3cret-pass"], undefined, diagnostics);
    adapter.error("Subscribed topic not available: app_logs: Broker: Unknown topic or partition", { fac: "ERROR" });
    adapter.error("SASL authentication error for s3cret-pass", { fac: "FAIL" });
    expect(logger.entries.map(({ level }) => level)).toEqual(["warn", "error"]);
    expect(diagnostics.lastBrokerFailure).toBe("SASL authentication error for [REDACTED]");
  });

  it("logs refused credentials once per interval, across namespaces, with the count of the lines it held back", () => {
    const logger = recordingLogger();
    let now = 0;
    const adapter = createLibrdkafkaLogger(logger, [], undefined, {}, () => now);
    const child = adapter.namespace("producer");
    for (let i = 0; i < 5; i++) {
      (i % 2 ? child : adapter).error("SASL authentication error: Authentication failed", { fac: "FAIL" });
      now += 1_000;
    }
    adapter.error("Connect to ipv4#127.0.0.1:9094 failed: Connection refused", { fac: "FAIL" });
    now = authenticationLogIntervalMs + 1;
    adapter.error("SASL authentication error: Authentication failed", { fac: "FAIL" });
    const refused = logger.entries.filter(({ msg }) => msg.startsWith("SASL"));
    expect(refused).toHaveLength(2);
    expect(refused[1]?.meta).toMatchObject({ repeatedSinceLastLog: 4 });
    expect(logger.entries.some(({ msg }) => msg.includes("Connection refused"))).toBe(true);
  });

  it("drops debug lines at the default INFO level and follows setLogLevel()", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, []);
    adapter.debug("noise");
    expect(logger.entries).toHaveLength(0);

    adapter.setLogLevel(kafkaJSLevel.DEBUG);
    adapter.debug("now visible");
    adapter.setLogLevel(kafkaJSLevel.ERROR);
    adapter.warn("dropped");
    adapter.error("kept");
    adapter.setLogLevel(kafkaJSLevel.NOTHING);
    adapter.error("dropped too");
    expect(logger.entries.map((entry) => entry.msg)).toEqual(["now visible", "kept"]);
  });

  it("ignores invalid log levels", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, []);
    for (const level of [-1, 5, Number.NaN, "4" as unknown as number]) adapter.setLogLevel(level);
    adapter.debug("still dropped");
    adapter.info("still kept");
    expect(logger.entries.map((entry) => entry.msg)).toEqual(["still kept"]);
  });

  it("scrubs secret values from messages and string fields, and redacts secret-looking keys", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, ["s3cret-pass"]);
    adapter.error("SASL auth with password s3cret-pass failed", {
      detail: "config sasl.password=s3cret-pass",
      "sasl.password": "anything",
      "ssl.key.pem": "-----BEGIN PRIVATE KEY-----",
      clientSecret: 12,
      broker: "127.0.0.1:9092",
      attempts: 3,
    });
    const [entry] = logger.entries;
    expect(entry?.msg).toBe("SASL auth with password [REDACTED] failed");
    expect(entry?.meta).toEqual({
      detail: "config sasl.password=[REDACTED]",
      "sasl.password": "[REDACTED]",
      "ssl.key.pem": "[REDACTED]",
      clientSecret: "[REDACTED]",
      broker: "127.0.0.1:9092",
      attempts: 3,
    });
    expect(JSON.stringify(logger.entries)).not.toContain("s3cret-pass");
  });

  it("turns non-string messages into text instead of throwing", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, []);
    adapter.error(new Error("boom") as unknown as string);
    adapter.info(undefined as unknown as string, null as unknown as object);
    expect(logger.entries.map(({ msg, meta }) => ({ msg, meta }))).toEqual([
      { msg: "Error: boom", meta: {} },
      { msg: "undefined", meta: {} },
    ]);
  });

  it("namespace() logs through a child carrying the namespace and inherits the current level", () => {
    const logger = recordingLogger();
    const adapter = createLibrdkafkaLogger(logger, ["s3cret-pass"]);
    adapter.setLogLevel(kafkaJSLevel.DEBUG);
    const consumerLog = adapter.namespace("Consumer");
    consumerLog.debug("fetch s3cret-pass");
    expect(logger.entries).toEqual([
      { level: "debug", msg: "fetch [REDACTED]", meta: {}, bound: { namespace: "Consumer" } },
    ]);
  });
});
