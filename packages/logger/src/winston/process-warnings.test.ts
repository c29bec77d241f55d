import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { describe, expect, it } from "@jest/globals";
import { createLogger } from "./create-logger.js";
import { logProcessWarnings } from "./process-warnings.js";

function jsonLogger() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ format: "json", stream });
  const text = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return chunks.join("");
  };
  return { logger, text };
}

describe("logProcessWarnings()", () => {
  it("logs a warning as one JSON line with its stack as a field, instead of Node's multi-line printer", async () => {
    const source = new EventEmitter();
    const printed: unknown[] = [];
    source.on("warning", (warning) => printed.push(warning));
    const { logger, text } = jsonLogger();
    const restore = logProcessWarnings(logger, source);

    const warning = Object.assign(new Error("Buffer() is deprecated"), { name: "DeprecationWarning", code: "DEP0005" });
    source.emit("warning", warning);
    const lines = (await text()).split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: "warn",
      msg: "Buffer() is deprecated",
      warning: "DeprecationWarning",
      code: "DEP0005",
      err: { name: "DeprecationWarning", stack: expect.stringContaining("\n    at ") },
    });
    expect(printed).toHaveLength(0);

    restore();
    source.emit("warning", warning);
    expect(printed).toHaveLength(1);
    expect((await text()).split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("keeps a warning with a multi-line message and stack on one line in JSON mode", async () => {
    const { logger, text } = jsonLogger();
    const err = new Error("first line\nsecond line");
    logger.warn("topic creation failed", { topic: "t", err });
    logger.warn(err as unknown as string);
    const lines = (await text()).split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect((JSON.parse(line) as { err: { stack: string } }).err.stack).toContain("\n");
  });
});
