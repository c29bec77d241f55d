import { Writable } from "node:stream";
import { describe, expect, it } from "@jest/globals";
import { createLogger, type CreateLoggerOptions } from "./create-logger.js";

function capture(options: Partial<CreateLoggerOptions> = {}) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({
    format: "json",
    stream,
    now: () => new Date("2026-01-02T03:04:05.678Z"),
    ...options,
  });
  const lines = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return chunks.join("").split("\n").filter(Boolean);
  };
  const json = async () => (await lines()).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, json };
}

describe("createLogger() json format", () => {
  it("writes one JSON object per line with time, level, msg and the fields", async () => {
    const { logger, lines, json } = capture({ base: { service: "producer" } });
    logger.info("started", { port: 8080 });
    logger.warn("slow", { durationMs: 12 });
    expect(await lines()).toHaveLength(2);
    expect(await json()).toEqual([
      { time: "2026-01-02T03:04:05.678Z", level: "info", msg: "started", service: "producer", port: 8080 },
      { time: "2026-01-02T03:04:05.678Z", level: "warn", msg: "slow", service: "producer", durationMs: 12 },
    ]);
  });

  it("drops entries below the level and writes nothing when silent", async () => {
    const warnOnly = capture({ level: "warn" });
    warnOnly.logger.debug("d");
    warnOnly.logger.info("i");
    warnOnly.logger.error("e");
    expect((await warnOnly.json()).map((entry) => entry.level)).toEqual(["error"]);

    const silent = capture({ level: "silent" });
    silent.logger.error("e");
    expect(await silent.lines()).toEqual([]);

    const debug = capture({ level: "debug" });
    debug.logger.debug("d");
    expect((await debug.json())[0]).toMatchObject({ level: "debug", msg: "d" });
  });

  it("serialises errors under err with name, message, code and stack, including causes", async () => {
    const { logger, json } = capture();
    const cause = new Error("socket hang up");
    const err = Object.assign(new Error("publish failed", { cause }), { code: "KAFKA_QUEUE_FULL", retriable: true });
    logger.error("cannot publish", { err });
    const [entry] = await json();
    expect(entry).toMatchObject({
      level: "error",
      msg: "cannot publish",
      err: {
        name: "Error",
        message: "publish failed",
        code: "KAFKA_QUEUE_FULL",
        retriable: true,
        cause: { name: "Error", message: "socket hang up" },
      },
    });
    expect((entry?.err as { stack?: string } | undefined)?.stack).toContain("create-logger.test.ts");
  });

  it("accepts an Error passed as the message (format.errors on the logger)", async () => {
    const { logger, json } = capture();
    (logger.error as (msg: unknown) => void)(new TypeError("bad thing"));
    const [entry] = await json();
    expect(entry).toMatchObject({ msg: "bad thing", err: { name: "TypeError", message: "bad thing" } });
  });

  it("redacts secret-looking keys at any depth and credentials inside URLs", async () => {
    const { logger, json } = capture();
    logger.info("request", {
      context: { app_secret: "s3cr3t", appSecret: "s3cr3t", kafka_topic: "t" },
      headers: { Authorization: "Bearer abc", "x-request-id": "r1" },
      password: "hunter2",
      accessToken: "tok",
      client_key: "ck",
      remainingTokens: 5,
      redisUrl: "redis://user:pa55@localhost:6379/0",
      list: [{ token: "t1" }],
    });
    const [entry] = await json();
    const text = JSON.stringify(entry);
    for (const secret of ["s3cr3t", "Bearer abc", "hunter2", '"tok"', '"ck"', "pa55", '"t1"']) {
      expect(text).not.toContain(secret);
    }
    expect(entry).toMatchObject({
      context: { app_secret: "[REDACTED]", appSecret: "[REDACTED]", kafka_topic: "t" },
      headers: { Authorization: "[REDACTED]", "x-request-id": "r1" },
      remainingTokens: 5,
      redisUrl: "redis://user:[REDACTED]@localhost:6379/0",
      list: [{ token: "[REDACTED]" }],
    });
  });

  it("redacts secrets bound to child loggers and merges child fields", async () => {
    const { logger, json } = capture({ base: { service: "p" } });
    const child = logger.child({ component: "redis", password: "x" }).child({ attempt: 2 });
    child.info("connecting", { attempt: 3 });
    expect((await json())[0]).toEqual({
      time: "2026-01-02T03:04:05.678Z",
      level: "info",
      msg: "connecting",
      service: "p",
      component: "redis",
      password: "[REDACTED]",
      attempt: 3,
    });
  });

  it("writes bigints as strings, drops protobuf $typeName, cuts cycles and never throws", async () => {
    const { logger, json } = capture();
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const timber = { $typeName: "producer.Timber", tsMs: 5n, content: { k: 1 }, raw: new Uint8Array(3) };
    const hostile = {
      get boom() {
        throw new Error("getter exploded");
      },
    };
    expect(() => logger.info("odd values", { offset: 12n, timber, cyclic, hostile, nan: Number.NaN })).not.toThrow();
    const [entry] = await json();
    expect(entry).toMatchObject({
      offset: "12",
      timber: { tsMs: "5", content: { k: 1 }, raw: "[Uint8Array 3 bytes]" },
      cyclic: { name: "loop", self: "[Circular]" },
      hostile: "[Unserializable]",
      nan: "NaN",
    });
    expect(entry?.timber).not.toHaveProperty("$typeName");
  });

  it("keeps time, level and msg even when fields use those names", async () => {
    const { logger, json } = capture();
    logger.info("real", { msg: "fake", level: "fake", time: "fake" });
    expect((await json())[0]).toMatchObject({ msg: "real", level: "info", field_msg: "fake", field_level: "fake" });
  });

  it("rejects an unknown level or format with a clear error", () => {
    expect(() => createLogger({ format: "json", level: "verbose" as "info" })).toThrow(/level must be one of/);
    expect(() => createLogger({ format: "xml" as "json" })).toThrow(/format must be/);
  });

  it("close() resolves after pending entries were written", async () => {
    const { logger, lines } = capture();
    logger.info("last words");
    await logger.close();
    await logger.close();
    expect(await lines()).toHaveLength(1);
  });
});

describe("createLogger() pretty format", () => {
  it("writes a readable single line per entry, with the error stack indented below", async () => {
    const { logger, lines } = capture({ format: "pretty", colors: false });
    logger.info("listening", { address: "0.0.0.0:8080", apps: 2 });
    logger.error("failed", { err: Object.assign(new Error("boom"), { code: "E_X" }), password: "p" });
    const output = await lines();
    expect(output[0]).toBe("03:04:05.678 INFO  listening address=0.0.0.0:8080 apps=2");
    expect(output[1]).toBe('03:04:05.678 ERROR failed err="Error [E_X]: boom" password=[REDACTED]');
    expect(output[2]).toMatch(/^ {4}at /);
  });

  it("colours the level when asked to", async () => {
    const { logger, lines } = capture({ format: "pretty", colors: true });
    logger.warn("careful");
    expect((await lines())[0]).toContain("\x1b[33mWARN \x1b[0m");
  });
});
