import { z } from "zod";
import { type DurationUnit, formatDuration, parseDuration } from "./duration.js";
import { type ListenAddress, parseListenAddress } from "./listen-address.js";

/** A schema for one environment variable: reads `string | undefined`, yields `T`. */
export type EnvVar<T> = z.ZodType<T, string | undefined>;

/** `default` is used when the variable is unset or blank; `required` rejects that case; neither yields `undefined`. */
export interface VarOptions<T> {
  default?: T;
  required?: boolean;
}

type VarOutput<T, O> = O extends { default: unknown } ? T : O extends { required: true } ? T : T | undefined;

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

/** Shows what was received without echoing long values (which might be a secret pasted into the wrong variable). */
function shown(raw: string): string {
  const text = raw.trim();
  return text.length > 40 ? `a ${text.length}-character value` : JSON.stringify(text);
}

function envVar<T>(parse: (raw: string) => Parsed<T>, options: VarOptions<T> | undefined): EnvVar<T | undefined> {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") {
        if (options?.default !== undefined) return options.default;
        if (options?.required) {
          ctx.issues.push({ code: "custom", message: "is required but not set", input: raw });
          return z.NEVER;
        }
        return undefined;
      }
      const result = parse(raw);
      if (!result.ok) {
        ctx.issues.push({ code: "custom", message: result.message, input: raw });
        return z.NEVER;
      }
      return result.value;
    }) as EnvVar<T | undefined>;
}

export interface StringVarOptions extends VarOptions<string> {
  /** Default true; passwords pass `false` so they keep their exact bytes. */
  trim?: boolean;
  /** Checks the (trimmed) value; return an error message to reject it. */
  check?: (value: string) => string | undefined;
}

/** Free text, optionally checked. */
export function stringVar<O extends StringVarOptions>(options?: O): EnvVar<VarOutput<string, O>> {
  const trim = options?.trim ?? true;
  return envVar((raw) => {
    const value = trim ? raw.trim() : raw;
    const problem = options?.check?.(value);
    return problem === undefined ? ok(value) : fail(problem);
  }, options) as EnvVar<VarOutput<string, O>>;
}

const kafkaNameCharacters = /^[A-Za-z0-9._-]*$/;

/**
 * Kafka topic names (and the prefix/suffix they are built from) allow only ASCII letters, digits, `.`, `_` and `-`,
 * at most 249 characters; caught at startup instead of at the first produce.
 */
export function checkKafkaName(value: string): string | undefined {
  if (!kafkaNameCharacters.test(value))
    return `may contain only letters, digits, ".", "_" and "-" (got ${shown(value)})`;
  if (value.length > 249) return "must be at most 249 characters";
  return undefined;
}

const truthy = new Set(["true", "1", "yes"]);
const falsy = new Set(["false", "0", "no"]);

/** Only true/false/1/0/yes/no, any case. (`z.coerce.boolean()` would turn "false" into true.) */
export function booleanVar<O extends VarOptions<boolean>>(options?: O): EnvVar<VarOutput<boolean, O>> {
  return envVar((raw) => {
    const text = raw.trim().toLowerCase();
    if (truthy.has(text)) return ok(true);
    if (falsy.has(text)) return ok(false);
    return fail(`must be true/false, 1/0 or yes/no (got ${shown(raw)})`);
  }, options) as EnvVar<VarOutput<boolean, O>>;
}

export interface IntegerVarOptions extends VarOptions<number> {
  min?: number;
  max?: number;
}

/** A whole number in decimal, optionally bounded (inclusive). */
export function integerVar<O extends IntegerVarOptions>(options?: O): EnvVar<VarOutput<number, O>> {
  return envVar((raw) => {
    const text = raw.trim();
    if (!/^[+-]?\d+$/.test(text)) return fail(`must be a whole number (got ${shown(raw)})`);
    return checkBounds(Number(text), options, String);
  }, options) as EnvVar<VarOutput<number, O>>;
}

function checkBounds(
  value: number,
  bounds: { min?: number | undefined; max?: number | undefined } | undefined,
  show: (n: number) => string,
): Parsed<number> {
  if (!Number.isSafeInteger(Math.round(value))) return fail("is too large");
  if (bounds?.min !== undefined && value < bounds.min)
    return fail(`must be at least ${show(bounds.min)} (got ${show(value)})`);
  if (bounds?.max !== undefined && value > bounds.max)
    return fail(`must be at most ${show(bounds.max)} (got ${show(value)})`);
  return ok(value);
}

export interface CsvVarOptions extends VarOptions<string[]> {
  /** Validates or rewrites each entry; return an error message string to reject it. */
  item?: (entry: string) => string | { error: string };
  /** Reject an empty list (after dropping empty entries). Default true when a default is given. */
  nonEmpty?: boolean;
}

/** Comma-separated list; entries are trimmed and empty entries dropped (`"a:9092, ,b:9092"` -> two entries). */
export function csvVar<O extends CsvVarOptions>(options?: O): EnvVar<VarOutput<string[], O>> {
  return envVar((raw) => {
    const entries = raw
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "");
    if (entries.length === 0) return fail("must contain at least one entry");
    const out: string[] = [];
    const problems: string[] = [];
    entries.forEach((entry, index) => {
      const checked = options?.item ? options.item(entry) : entry;
      if (typeof checked === "string") out.push(checked);
      else problems.push(`entry ${index + 1}: ${checked.error}`);
    });
    return problems.length > 0 ? fail(problems.join("; ")) : ok(out);
  }, options) as EnvVar<VarOutput<string[], O>>;
}

export interface DurationVarOptions {
  /** Unit of a bare number, as the variable was documented in Go (`BARITO_KAFKA_RETRY_INTERVAL=10` is seconds). */
  unit: DurationUnit;
  /** Default in the variable's own syntax: `"30s"` or a bare number in `unit`. */
  default?: string | number;
  required?: boolean;
  /** Bounds in milliseconds, inclusive. */
  minMs?: number;
  maxMs?: number;
}

/** A duration exposed in milliseconds: Go syntax (`"30s"`, `"500ms"`, `"1m30s"`) or a bare number in `unit`. */
export function durationVar<O extends DurationVarOptions>(options: O): EnvVar<VarOutput<number, O>> {
  const parse = (raw: string): Parsed<number> => {
    const ms = parseDuration(raw, options.unit);
    if (ms === undefined) {
      return fail(
        `must be a duration such as "30s", "500ms", "1m30s" or a number of ${unitName(options.unit)} (got ${shown(raw)})`,
      );
    }
    return checkBounds(ms, { min: options.minMs, max: options.maxMs }, formatDuration);
  };
  const fallback = options.default === undefined ? undefined : parse(String(options.default));
  if (fallback && !fallback.ok) throw new TypeError(`durationVar: invalid default ${String(options.default)}`);
  return envVar(parse, { default: fallback?.value, required: options.required }) as EnvVar<VarOutput<number, O>>;
}

function unitName(unit: DurationUnit): string {
  return unit === "s" ? "seconds" : "milliseconds";
}

const sizeUnits: Record<string, number> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
};

export interface ByteSizeVarOptions extends VarOptions<number> {
  min?: number;
  max?: number;
}

/** A size in bytes: a bare number, or with a unit (`5MB` = 5,000,000, `5MiB` = 5,242,880). */
export function byteSizeVar<O extends ByteSizeVarOptions>(options?: O): EnvVar<VarOutput<number, O>> {
  return envVar((raw) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
    const factor = match ? sizeUnits[(match[2] || "b").toLowerCase()] : undefined;
    if (!match || factor === undefined)
      return fail(`must be a size in bytes such as 5242880, 5MB or 5MiB (got ${shown(raw)})`);
    return checkBounds(Math.round(Number(match[1]) * factor), options, String);
  }, options) as EnvVar<VarOutput<number, O>>;
}

/** A Go-style listen address (`":8080"`, `"8080"`, `"127.0.0.1:8080"`) as `{ host, port }`. */
export function listenAddressVar<O extends { default?: string; required?: boolean }>(
  options?: O,
): EnvVar<VarOutput<ListenAddress, O>> {
  const parse = (raw: string): Parsed<ListenAddress> => {
    const address = parseListenAddress(raw);
    return address
      ? ok(address)
      : fail(`must be a listen address such as ":8080", "8080" or "127.0.0.1:8080" (got ${shown(raw)})`);
  };
  const fallback = options?.default === undefined ? undefined : parse(options.default);
  if (fallback && !fallback.ok) throw new TypeError(`listenAddressVar: invalid default ${String(options?.default)}`);
  return envVar(parse, { default: fallback?.value, required: options?.required }) as EnvVar<
    VarOutput<ListenAddress, O>
  >;
}

/** One of `values`, matched without case and returned in the canonical spelling given here. */
export function enumVar<const V extends readonly [string, ...string[]], O extends VarOptions<V[number]>>(
  values: V,
  options?: O & { hints?: Record<string, string> },
): EnvVar<VarOutput<V[number], O>> {
  return envVar((raw) => {
    const text = raw.trim().toLowerCase();
    const found = values.find((value) => value.toLowerCase() === text);
    if (found !== undefined) return ok(found);
    const hint = options?.hints?.[text];
    return fail(hint ?? `must be one of ${values.join(", ")} (got ${shown(raw)})`);
  }, options) as EnvVar<VarOutput<V[number], O>>;
}

/** Checks one absolute URL; used by `urlVar` and as a `csvVar` item check. */
export function checkUrl(text: string, protocols: readonly string[]): string | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `must be an absolute URL such as ${protocols[0]}//host:port` };
  }
  if (!protocols.includes(url.protocol)) return { error: `must use ${protocols.join(" or ")} (got ${url.protocol})` };
  return text.replace(/\/+$/, "");
}

/** An absolute URL with one of `protocols` (default http/https); trailing slashes removed. */
export function urlVar<O extends VarOptions<string> & { protocols?: readonly string[] }>(
  options?: O,
): EnvVar<VarOutput<string, O>> {
  const protocols = options?.protocols ?? ["http:", "https:"];
  return envVar((raw) => {
    const checked = checkUrl(raw.trim(), protocols);
    return typeof checked === "string" ? ok(checked) : fail(checked.error);
  }, options) as EnvVar<VarOutput<string, O>>;
}

/** `host:port` entry check (Kafka brokers). */
export function checkHostPort(entry: string): string | { error: string } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(entry);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port < 1 || port > 65_535) return { error: `must be host:port (got ${shown(entry)})` };
  return entry;
}

/**
 * Redis location: `host:port` (Go barito's form) or a `redis://` / `rediss://` URL; always returned as a URL.
 * The Go default `http://localhost:6379` never worked and is rejected with a hint.
 */
export function redisUrlVar<O extends VarOptions<string>>(options?: O): EnvVar<VarOutput<string, O>> {
  return envVar((raw) => {
    const text = raw.trim();
    const expected = 'must be host:port or a redis:// or rediss:// URL, e.g. "redis://localhost:6379"';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      const checked = checkUrl(text, ["redis:", "rediss:"]);
      if (typeof checked === "string") return ok(checked);
      return fail(`${expected}; ${checked.error}`);
    }
    const hostPort = checkHostPort(text);
    return typeof hostPort === "string" ? ok(`redis://${hostPort}`) : fail(expected);
  }, options) as EnvVar<VarOutput<string, O>>;
}

/**
 * A process count: a whole number in [1, max], or `auto` for the machine's available parallelism (capped at max).
 * `parallelism` is passed in so the parse stays a pure function of its inputs.
 */
export function processCountVar<O extends VarOptions<number>>(
  options: O & { max: number; parallelism: () => number },
): EnvVar<VarOutput<number, O>> {
  return envVar((raw) => {
    const text = raw.trim().toLowerCase();
    if (text === "auto") return ok(Math.max(1, Math.min(options.max, options.parallelism())));
    if (!/^\+?\d+$/.test(text)) return fail(`must be a whole number or auto (got ${shown(raw)})`);
    return checkBounds(Number(text), { min: 1, max: options.max }, String);
  }, options) as EnvVar<VarOutput<number, O>>;
}
