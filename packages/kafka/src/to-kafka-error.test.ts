import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { invalidArgument, invalidConfig, isKafkaError, KafkaError } from "./errors.js";
import { classifyLibrdkafkaCode, librdkafkaCodes, toKafkaError } from "./to-kafka-error.js";

/**
 * The installed client's own code table, read as text: `lib/error.js` requires the native addon, and unit tests must
 * not load librdkafka.
 */
function installedClientCodes(): Map<string, number> {
  const source = readFileSync(
    join(__dirname, "..", "node_modules", "@confluentinc", "kafka-javascript", "lib", "error.js"),
    "utf8",
  );
  const codes = new Map<string, number>();
  for (const match of source.matchAll(/^\s*(ERR_\w+):\s*(-?\d+),?\s*$/gm)) {
    codes.set(match[1] as string, Number(match[2]));
  }
  return codes;
}

/** The shape of a KafkaJSError / LibrdKafkaError as the client throws it (built without the native module). */
function clientError(code: number, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name: "KafkaJSError", code, retriable: false, fatal: false, ...extra });
}

describe("librdkafkaCodes", () => {
  it("matches the numeric codes of the installed @confluentinc/kafka-javascript", () => {
    const installed = installedClientCodes();
    expect(installed.size).toBeGreaterThan(100);
    for (const [name, code] of Object.entries(librdkafkaCodes)) {
      expect({ name, code: installed.get(name) }).toEqual({ name, code });
    }
  });
});

describe("classifyLibrdkafkaCode()", () => {
  it.each([
    [librdkafkaCodes.ERR_MSG_SIZE_TOO_LARGE, "MESSAGE_TOO_LARGE", false],
    [librdkafkaCodes.ERR_RECORD_LIST_TOO_LARGE, "MESSAGE_TOO_LARGE", false],
    [librdkafkaCodes.ERR__MSG_TIMED_OUT, "TIMEOUT", true],
    [librdkafkaCodes.ERR__TIMED_OUT, "TIMEOUT", true],
    [librdkafkaCodes.ERR_REQUEST_TIMED_OUT, "TIMEOUT", true],
    [librdkafkaCodes.ERR__QUEUE_FULL, "QUEUE_FULL", true],
    [librdkafkaCodes.ERR_UNKNOWN_TOPIC_OR_PART, "TOPIC_NOT_FOUND", true],
    [librdkafkaCodes.ERR__UNKNOWN_TOPIC, "TOPIC_NOT_FOUND", true],
    [librdkafkaCodes.ERR_TOPIC_ALREADY_EXISTS, "TOPIC_ALREADY_EXISTS", false],
    [librdkafkaCodes.ERR__TRANSPORT, "BROKER_UNAVAILABLE", true],
    [librdkafkaCodes.ERR__ALL_BROKERS_DOWN, "BROKER_UNAVAILABLE", true],
    [librdkafkaCodes.ERR_NOT_LEADER_FOR_PARTITION, "BROKER_UNAVAILABLE", true],
    [librdkafkaCodes.ERR_NOT_ENOUGH_REPLICAS, "NOT_ENOUGH_REPLICAS", true],
    [librdkafkaCodes.ERR_REBALANCE_IN_PROGRESS, "REBALANCE_IN_PROGRESS", true],
    [librdkafkaCodes.ERR_SASL_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED", false],
    [librdkafkaCodes.ERR_TOPIC_AUTHORIZATION_FAILED, "AUTHORIZATION_FAILED", false],
    [librdkafkaCodes.ERR_INVALID_REPLICATION_FACTOR, "INVALID_ARGUMENT", false],
    [librdkafkaCodes.ERR__STATE, "INVALID_STATE", false],
    [librdkafkaCodes.ERR__DESTROY, "CLOSED", true],
    [librdkafkaCodes.ERR__FATAL, "FATAL", false],
    [424242, "UNKNOWN", false],
    [librdkafkaCodes.ERR_UNKNOWN, "UNKNOWN", false],
  ])("classifies %i as %s (retriable %s)", (code, expected, retriable) => {
    expect(classifyLibrdkafkaCode(code)).toEqual({ code: expected, retriable });
  });
});

describe("toKafkaError()", () => {
  it("returns a KafkaError unchanged", () => {
    const original = new KafkaError("QUEUE_FULL", "full", { retriable: true });
    expect(toKafkaError(original, "publish")).toBe(original);
  });

  it("classifies a client error by its numeric code, keeps the code, the cause and prefixes the context", () => {
    const cause = clientError(10, "Broker: Message size too large");
    const error = toKafkaError(cause, "publish to logs");
    expect(error).toBeInstanceOf(KafkaError);
    expect(error).toMatchObject({
      code: "MESSAGE_TOO_LARGE",
      retriable: false,
      librdkafkaCode: 10,
      message: "publish to logs: Broker: Message size too large",
    });
    expect(error.cause).toBe(cause);
  });

  it("reads `errno` when `code` is not numeric (node-rdkafka style errors)", () => {
    const error = toKafkaError({ message: "Local: Queue full", code: "ERR__QUEUE_FULL", errno: -184 });
    expect(error).toMatchObject({ code: "QUEUE_FULL", retriable: true, librdkafkaCode: -184 });
  });

  it("uses the first inner error of an aggregate (createTopics) and keeps the aggregate as cause", () => {
    const aggregate = Object.assign(new Error("Topic creation errors"), {
      name: "KafkaJSAggregateError",
      errors: [clientError(38, "Broker: Invalid replication factor")],
    });
    const error = toKafkaError(aggregate, "create topic");
    expect(error).toMatchObject({
      code: "INVALID_ARGUMENT",
      retriable: false,
      librdkafkaCode: 38,
      message: "create topic: Broker: Invalid replication factor",
    });
    expect(error.cause).toBe(aggregate);
  });

  it("falls back to the message text when the code says nothing (ERR_UNKNOWN or none)", () => {
    expect(toKafkaError(clientError(-1, "Broker: Message size too large"))).toMatchObject({
      code: "MESSAGE_TOO_LARGE",
      retriable: false,
    });
    expect(toKafkaError(new Error("Local: Message timed out"))).toMatchObject({ code: "TIMEOUT", retriable: true });
    expect(toKafkaError(new Error("Local: Queue full"))).toMatchObject({ code: "QUEUE_FULL", retriable: true });
    expect(toKafkaError(new Error("Broker: Unknown topic or partition"))).toMatchObject({ code: "TOPIC_NOT_FOUND" });
    expect(toKafkaError("Local: All broker connections are down")).toMatchObject({
      code: "BROKER_UNAVAILABLE",
      retriable: true,
    });
    // What a consumer's connect rejects with when the broker refuses its SASL credentials (seen in sasl.it.test.ts).
    expect(toKafkaError(new Error("authentication failure"), "connect consumer to Kafka")).toMatchObject({
      code: "AUTHENTICATION_FAILED",
      retriable: false,
    });
  });

  it("classifies by the text alone when there is no code, first match wins", () => {
    // code, retriable, then messages librdkafka or the client write for it
    const byText: Array<[string, boolean, ...string[]]> = [
      ["TIMEOUT", true, "Request timeout", "operation timedout", "will time out"],
      ["MESSAGE_TOO_LARGE", false, "Message too large for the broker"],
      ["QUEUE_FULL", true, "local queue is full"],
      ["TOPIC_NOT_FOUND", true, "topic logs does not exist", "Topic x not found", "Unknown topic"],
      ["BROKER_UNAVAILABLE", true, "broker disconnected", "connect: connection refused", "Broker transport failure"],
      ["AUTHENTICATION_FAILED", false, "SASL authentication error: bad password", "authentication failed: timed out"],
    ];
    for (const [code, retriable, ...messages] of byText) {
      for (const message of messages) {
        expect(toKafkaError(new Error(message), "connect")).toMatchObject({
          code,
          retriable,
          message: `connect: ${message}`,
          librdkafkaCode: undefined,
        });
      }
    }
  });

  it("reads the message of a plain object, and leaves the message alone without a context", () => {
    expect(toKafkaError({ message: "Local: Queue full" })).toMatchObject({
      code: "QUEUE_FULL",
      message: "Local: Queue full",
    });
    expect(toKafkaError({ message: 7 }).message).toBe("unknown Kafka client failure");
    expect(toKafkaError(clientError(-184, "Local: Queue full")).message).toBe("Local: Queue full");
    expect(toKafkaError({ message: "x", code: 1.5 })).toMatchObject({ code: "UNKNOWN", librdkafkaCode: undefined });
    expect(toKafkaError({ message: "x", code: "10", errno: 10 })).toMatchObject({ librdkafkaCode: 10 });
  });

  it("skips entries of an aggregate that are no errors, and reads the aggregate itself when none is", () => {
    const mixed = { message: "Topic creation errors", errors: ["text", null, clientError(-184, "Local: Queue full")] };
    expect(toKafkaError(mixed, "create")).toMatchObject({
      code: "QUEUE_FULL",
      retriable: true,
      librdkafkaCode: -184,
      message: "create: Local: Queue full",
      cause: mixed,
    });
    const empty = { message: "Local: Queue full", errors: ["only text"] };
    expect(toKafkaError(empty)).toMatchObject({ code: "QUEUE_FULL", cause: empty });
  });

  it.each([undefined, null, 42, Symbol("x"), {}, [], new Error("something odd")])(
    "turns %p into a non-retriable UNKNOWN KafkaError without throwing",
    (value) => {
      const error = toKafkaError(value, "flush");
      expect(error).toBeInstanceOf(KafkaError);
      expect(error.code).toBe("UNKNOWN");
      expect(error.retriable).toBe(false);
      expect(error.message.startsWith("flush: ")).toBe(true);
    },
  );
});

describe("KafkaError", () => {
  it("is an Error with a stable JSON form that leaves the cause out", () => {
    const error = new KafkaError("TIMEOUT", "publish: timed out", {
      retriable: true,
      librdkafkaCode: -192,
      cause: new Error("connection to sasl://user:pw@host"),
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("KafkaError");
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "KafkaError",
      code: "TIMEOUT",
      retriable: true,
      librdkafkaCode: -192,
      message: "publish: timed out",
    });
  });

  it("builds configuration and argument errors with their field, final", () => {
    expect(JSON.parse(JSON.stringify(invalidConfig("brokers[1]", "must be host:port")))).toEqual({
      name: "KafkaError",
      code: "INVALID_CONFIG",
      retriable: false,
      field: "brokers[1]",
      message: "brokers[1]: must be host:port",
    });
    expect(invalidArgument("records[3].value", "must be a Buffer")).toMatchObject({
      code: "INVALID_ARGUMENT",
      retriable: false,
      field: "records[3].value",
      message: "records[3].value: must be a Buffer",
    });
    expect(new KafkaError("TIMEOUT", "t", { retriable: true }).cause).toBeUndefined();
    expect("cause" in new KafkaError("TIMEOUT", "t", { retriable: true })).toBe(false);
  });

  it("is recognised by brand, so errors from another copy of the package still match", () => {
    const foreign = Object.assign(new Error("x"), { code: "TIMEOUT" });
    Object.defineProperty(foreign, Symbol.for("@barito-flow/kafka/error"), { value: true });
    expect(isKafkaError(foreign)).toBe(true);
    expect(foreign instanceof KafkaError).toBe(true);
    expect(isKafkaError(Object.assign(new Error("x"), { code: "TIMEOUT", retriable: true }))).toBe(false);
    expect(isKafkaError(null)).toBe(false);
    expect(isKafkaError("TIMEOUT")).toBe(false);
  });
});
