import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { formatDuration, parseDuration } from "./duration.js";
import {
  booleanVar,
  byteSizeVar,
  checkHostPort,
  checkKafkaName,
  csvVar,
  durationVar,
  enumVar,
  integerVar,
  listenAddressVar,
  processCountVar,
  redisUrlVar,
  stringVar,
  urlVar,
} from "./env-vars.js";
import { loadConfig } from "./load-config.js";

function issuesOf(run: () => unknown): { variable: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("booleanVar()", () => {
  const schema = z.object({ FLAG: booleanVar({ default: true }), OPT: booleanVar() });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["Yes", true],
    ["false", false],
    ["False", false],
    ["0", false],
    ["no", false],
    [" no ", false],
  ])("reads %j as %s", (raw, expected) => {
    expect(loadConfig(schema, { FLAG: raw }).FLAG).toBe(expected);
  });

  it("uses the default when unset or empty, undefined without a default", () => {
    expect(loadConfig(schema, {})).toEqual({ FLAG: true, OPT: undefined });
    expect(loadConfig(schema, { FLAG: "", OPT: "  " })).toEqual({ FLAG: true, OPT: undefined });
  });

  it("rejects anything else instead of coercing it", () => {
    expect(issuesOf(() => loadConfig(schema, { FLAG: "enabled" }))).toEqual([
      { variable: "FLAG", message: 'must be true/false, 1/0 or yes/no (got "enabled")' },
    ]);
  });
});

describe("integerVar()", () => {
  const schema = z.object({ N: integerVar({ default: 5, min: 1, max: 10 }) });

  it("parses whole numbers within bounds", () => {
    expect(loadConfig(schema, { N: "7" }).N).toBe(7);
    expect(loadConfig(schema, {}).N).toBe(5);
  });

  it.each([
    ["abc", "must be a whole number"],
    ["1.5", "must be a whole number"],
    ["10abc", "must be a whole number"],
    ["0", "must be at least 1 (got 0)"],
    ["11", "must be at most 10 (got 11)"],
    ["99999999999999999999", "is too large"],
  ])("rejects %j", (raw, message) => {
    expect(issuesOf(() => loadConfig(schema, { N: raw }))[0]?.message).toContain(message);
  });
});

describe("csvVar()", () => {
  it("trims entries and drops empty ones", () => {
    const schema = z.object({ L: csvVar({ default: ["x"] }) });
    expect(loadConfig(schema, { L: " a:1 , ,b:2,, " }).L).toEqual(["a:1", "b:2"]);
    expect(loadConfig(schema, {}).L).toEqual(["x"]);
  });

  it("rejects a list of only separators and names bad entries", () => {
    const schema = z.object({ L: csvVar({ item: (e) => (e.startsWith("ok") ? e : { error: "not ok" }) }) });
    expect(issuesOf(() => loadConfig(schema, { L: ", ," }))[0]?.message).toBe("must contain at least one entry");
    expect(issuesOf(() => loadConfig(schema, { L: "ok1,bad,ok2,worse" }))[0]?.message).toBe(
      "entry 2: not ok; entry 4: not ok",
    );
  });
});

describe("durationVar()", () => {
  const seconds = z.object({ D: durationVar({ default: 10, unit: "s" }) });
  const millis = z.object({ D: durationVar({ default: "500ms", unit: "ms", minMs: 1 }) });

  it.each([
    ["30s", 30_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["2", 2_000],
    ["0", 0],
  ])("reads %j (bare numbers in seconds) as %d ms", (raw, ms) => {
    expect(loadConfig(seconds, { D: raw }).D).toBe(ms);
  });

  it("reads bare numbers in the variable's unit", () => {
    expect(loadConfig(millis, { D: "250" }).D).toBe(250);
    expect(loadConfig(millis, {}).D).toBe(500);
    expect(loadConfig(seconds, {}).D).toBe(10_000);
  });

  it.each(["10 s", "-5s", "5x", "s", "1m30", "abc"])("rejects %j", (raw) => {
    expect(issuesOf(() => loadConfig(seconds, { D: raw }))[0]?.message).toMatch(/must be a duration such as/);
  });

  it("applies bounds", () => {
    expect(issuesOf(() => loadConfig(millis, { D: "0" }))[0]?.message).toBe("must be at least 1ms (got 0s)");
  });

  it("refuses an invalid default at schema creation (a programming error)", () => {
    expect(() => durationVar({ default: "soon", unit: "s" })).toThrow(TypeError);
  });
});

describe("parseDuration() and formatDuration()", () => {
  it.each([
    ["1h2m3s4ms", 3_723_004],
    ["1.5s", 1_500],
    [".5s", 500],
    ["1.s", 1_000],
    ["100us", 0.1],
    ["100µs", 0.1],
    ["100μs", 0.1],
    ["2000000ns", 2],
    ["  30s  ", 30_000],
    ["2m", 120_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseDuration(text, "ms")).toBeCloseTo(ms, 9);
  });

  it("reads a bare number in the unit it is given", () => {
    expect(parseDuration("2.5", "s")).toBe(2_500);
    expect(parseDuration("2.5", "ms")).toBe(2.5);
    expect(parseDuration(" 7 ", "s")).toBe(7_000);
  });

  it.each(["", "   ", "1s x", "1e3s", "s1", "1m30", "1d", "-1s", "1 s", `${"9".repeat(400)}h`])(
    "refuses %j",
    (text) => {
      expect(parseDuration(text, "s")).toBeUndefined();
    },
  );

  it("starts each parse at the beginning, whatever the previous one read", () => {
    expect(parseDuration("1m", "s")).toBe(60_000);
    expect(parseDuration("1h30m", "s")).toBe(5_400_000);
    expect(parseDuration("1h30x", "s")).toBeUndefined();
    expect(parseDuration("45s", "s")).toBe(45_000);
  });

  it.each([
    [0, "0s"],
    [500, "500ms"],
    [1_500, "1500ms"],
    [1_000, "1s"],
    [59_000, "59s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [3_723_000, "1h2m3s"],
    [7_205_000, "2h5s"],
    [7_260_000, "2h1m"],
  ])("formats %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("listenAddressVar()", () => {
  const schema = z.object({ A: listenAddressVar({ default: ":8080" }) });

  it.each([
    [":8080", { host: "0.0.0.0", port: 8080 }],
    ["8081", { host: "0.0.0.0", port: 8081 }],
    ["0.0.0.0:8082", { host: "0.0.0.0", port: 8082 }],
    ["127.0.0.1:8083", { host: "127.0.0.1", port: 8083 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["  :80  ", { host: "0.0.0.0", port: 80 }],
    ["[::1]:65535", { host: "::1", port: 65_535 }],
    ["example.com:443", { host: "example.com", port: 443 }],
    ["65535", { host: "0.0.0.0", port: 65_535 }],
  ])("reads %j", (raw, expected) => {
    expect(loadConfig(schema, { A: raw }).A).toEqual(expected);
  });

  it("defaults", () => {
    expect(loadConfig(schema, {}).A).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(loadConfig(z.object({ A: listenAddressVar() }), {}).A).toBeUndefined();
  });

  it.each([
    ...["host", ":99999", "a b:80", "http://x:80", ":-1", ":65536", "65536", "[::1]", "[::1]:", "host:"],
    ...["ho_st:80", "[fe80::1%eth0]:80", ":8a", "a:b:80x", "x[::1]:80", "[::1]:80x", "a:0x10", "[::1]:0x10"],
  ])("rejects %j", (raw) => {
    expect(issuesOf(() => loadConfig(schema, { A: raw }))[0]?.message).toMatch(/must be a listen address/);
  });
});

describe("enumVar()", () => {
  const schema = z.object({ E: enumVar(["Timber", "TimberCollection"], { default: "Timber" }) });

  it("matches without case and returns the canonical spelling", () => {
    expect(loadConfig(schema, { E: "timbercollection" }).E).toBe("TimberCollection");
    expect(loadConfig(schema, { E: " TIMBER " }).E).toBe("Timber");
    expect(loadConfig(schema, {}).E).toBe("Timber");
  });

  it("names the allowed values", () => {
    expect(issuesOf(() => loadConfig(schema, { E: "json" }))).toEqual([
      { variable: "E", message: 'must be one of Timber, TimberCollection (got "json")' },
    ]);
  });
});

describe("byteSizeVar()", () => {
  const schema = z.object({ B: byteSizeVar({ default: 100 }) });
  it.each([
    ["1024", 1024],
    ["5MB", 5_000_000],
    ["5MiB", 5_242_880],
    ["1.5kb", 1_500],
  ])("reads %j", (raw, bytes) => {
    expect(loadConfig(schema, { B: raw }).B).toBe(bytes);
  });
  it("rejects unknown units", () => {
    expect(issuesOf(() => loadConfig(schema, { B: "5 parsecs" }))[0]?.message).toMatch(/must be a size in bytes/);
  });
});

describe("redisUrlVar()", () => {
  const schema = z.object({ R: redisUrlVar({ default: "redis://localhost:6379" }) });
  it.each([
    ["localhost:6379", "redis://localhost:6379"],
    ["redis://r:6380/2", "redis://r:6380/2"],
    ["rediss://:pw@r:6380", "rediss://:pw@r:6380"],
  ])("accepts %j", (raw, url) => {
    expect(loadConfig(schema, { R: raw }).R).toBe(url);
  });

  it("rejects other schemes without echoing the value", () => {
    const [issue] = issuesOf(() => loadConfig(schema, { R: "http://user:hunter2@localhost:6379" }));
    expect(issue?.message).toMatch(/must be host:port or a redis:\/\/ or rediss:\/\/ URL/);
    expect(issue?.message).not.toContain("hunter2");
  });
});

describe("urlVar() and stringVar()", () => {
  it("validates URLs and strips trailing slashes", () => {
    const schema = z.object({ U: urlVar() });
    expect(loadConfig(schema, { U: "https://market.example/api/" }).U).toBe("https://market.example/api");
    expect(issuesOf(() => loadConfig(schema, { U: "market.example" }))[0]?.message).toMatch(/absolute URL/);
    expect(issuesOf(() => loadConfig(schema, { U: "ftp://x" }))[0]?.message).toMatch(/must use http: or https:/);
  });

  it("trims strings except when asked not to, and enforces required", () => {
    const schema = z.object({ S: stringVar(), P: stringVar({ trim: false }), R: stringVar({ required: true }) });
    expect(loadConfig(schema, { S: " a ", P: " p ", R: "r" })).toEqual({ S: "a", P: " p ", R: "r" });
    expect(issuesOf(() => loadConfig(schema, {}))).toEqual([{ variable: "R", message: "is required but not set" }]);
  });
});

describe("entry checks and messages", () => {
  it("checks Kafka names: characters and length", () => {
    expect(checkKafkaName("logs_app-1.x")).toBeUndefined();
    expect(checkKafkaName("bad name")).toBe('may contain only letters, digits, ".", "_" and "-" (got "bad name")');
    expect(checkKafkaName("a".repeat(249))).toBeUndefined();
    expect(checkKafkaName("a".repeat(250))).toBe("must be at most 249 characters");
  });

  it("checks host:port entries, the whole entry, ports 1 to 65535", () => {
    for (const entry of ["a:9092", "kafka-1.local:1", "[::1]:9092", "10.0.0.1:65535"]) {
      expect(checkHostPort(entry)).toBe(entry);
    }
    for (const entry of ["x y:9092", "a:9092x", "a:0", "a:65536", "[]:9092", "[zz]:9092", "a", ":9092"]) {
      expect(checkHostPort(entry)).toEqual({ error: `must be host:port (got ${JSON.stringify(entry)})` });
    }
  });

  it("shows a received value of up to 40 characters, trimmed, and only the length of a longer one", () => {
    const schema = z.object({ N: integerVar() });
    const message = (raw: string) => issuesOf(() => loadConfig(schema, { N: raw }))[0]?.message;
    expect(message("  abc  ")).toBe('must be a whole number (got "abc")');
    expect(message(`${"x".repeat(40)}  `)).toBe(`must be a whole number (got "${"x".repeat(40)}")`);
    expect(message("x".repeat(41))).toBe("must be a whole number (got a 41-character value)");
  });

  it("accepts the bounds themselves", () => {
    const schema = z.object({ N: integerVar({ min: 2, max: 5 }) });
    expect(loadConfig(schema, { N: "2" }).N).toBe(2);
    expect(loadConfig(schema, { N: "5" }).N).toBe(5);
    expect(issuesOf(() => loadConfig(schema, { N: "6" }))[0]?.message).toBe("must be at most 5 (got 6)");
    expect(issuesOf(() => loadConfig(schema, { N: "1" }))[0]?.message).toBe("must be at least 2 (got 1)");
  });

  it("names the bare-number unit of a duration, and the bad default", () => {
    const message = (unit: "s" | "ms") =>
      issuesOf(() => loadConfig(z.object({ D: durationVar({ unit }) }), { D: "5x" }))[0]?.message;
    expect(message("s")).toBe('must be a duration such as "30s", "500ms", "1m30s" or a number of seconds (got "5x")');
    expect(message("ms")).toBe(
      'must be a duration such as "30s", "500ms", "1m30s" or a number of milliseconds (got "5x")',
    );
    expect(() => durationVar({ default: "soon", unit: "s" })).toThrow("durationVar: invalid default soon");
    expect(loadConfig(z.object({ D: durationVar({ unit: "s" }) }), {}).D).toBeUndefined();
    expect(() => listenAddressVar({ default: "nowhere" })).toThrow("listenAddressVar: invalid default nowhere");
  });

  it("strips every trailing slash of a URL", () => {
    expect(loadConfig(z.object({ U: urlVar() }), { U: "http://a:9200///" }).U).toBe("http://a:9200");
  });

  it("reads a process count or auto, capped", () => {
    const schema = (parallelism: number) =>
      z.object({ P: processCountVar({ default: 1, max: 4, parallelism: () => parallelism }) });
    expect(loadConfig(schema(3), { P: "auto" }).P).toBe(3);
    expect(loadConfig(schema(16), { P: "AUTO" }).P).toBe(4);
    expect(loadConfig(schema(0), { P: "auto" }).P).toBe(1);
    expect(loadConfig(schema(2), { P: "+2" }).P).toBe(2);
    expect(loadConfig(schema(2), {}).P).toBe(1);
    expect(issuesOf(() => loadConfig(schema(2), { P: "0" }))[0]?.message).toBe("must be at least 1 (got 0)");
    expect(issuesOf(() => loadConfig(schema(2), { P: "5" }))[0]?.message).toBe("must be at most 4 (got 5)");
    expect(issuesOf(() => loadConfig(schema(2), { P: "two" }))[0]?.message).toBe(
      'must be a whole number or auto (got "two")',
    );
  });
});
