import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { booleanVar, integerVar, stringVar } from "./env-vars.js";
import { loadConfig } from "./load-config.js";

describe("loadConfig()", () => {
  const schema = z
    .object({ A: integerVar({ default: 1 }), B: booleanVar({ default: false }), C: stringVar({ default: "c" }) })
    .transform((env) => ({ group: { a: env.A, b: env.B }, list: [env.C] }));

  it("returns the deeply frozen output of the schema", () => {
    const config = loadConfig(schema, { A: "2", UNRELATED: "x" });
    expect(config).toEqual({ group: { a: 2, b: false }, list: ["c"] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.group)).toBe(true);
    expect(Object.isFrozen(config.list)).toBe(true);
    expect(() => {
      (config.group as { a: number }).a = 3;
    }).toThrow(TypeError);
  });

  it("reports every invalid variable at once, with a machine-readable code", () => {
    let caught: unknown;
    try {
      loadConfig(schema, { A: "x", B: "maybe", C: "fine" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.retriable).toBe(false);
    expect(error.issues.map((issue) => issue.variable)).toEqual(["A", "B"]);
    expect(error.message).toBe(
      'Invalid configuration (2 problems):\n  - A: must be a whole number (got "x")\n' +
        '  - B: must be true/false, 1/0 or yes/no (got "maybe")',
    );
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: "INVALID_CONFIG", issues: error.issues });
  });

  it("treats empty and blank values as unset", () => {
    expect(loadConfig(schema, { A: "", B: "   " })).toEqual({ group: { a: 1, b: false }, list: ["c"] });
  });

  it("reads process.env when no environment is passed", () => {
    const name = `BARITO_TEST_${process.pid}`;
    process.env[name] = "42";
    try {
      expect(loadConfig(z.object({ [name]: integerVar() }))).toEqual({ [name]: 42 });
    } finally {
      delete process.env[name];
    }
  });

  it("does not echo long values (they may be secrets in the wrong variable)", () => {
    const secret = "x".repeat(64);
    const error = (() => {
      try {
        loadConfig(schema, { A: secret });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected an error");
    })();
    expect(error.message).not.toContain(secret);
    expect(error.message).toContain("a 64-character value");
  });

  it("brand-checks ConfigError across copies", () => {
    const foreign = Object.assign(new Error("x"), { [Symbol.for("@barito-flow/config/error")]: true });
    expect(foreign instanceof ConfigError).toBe(true);
    expect(new Error("x") instanceof ConfigError).toBe(false);
  });
});
