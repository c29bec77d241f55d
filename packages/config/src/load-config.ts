import type { z } from "zod";
import { ConfigError, type ConfigIssue } from "./config-error.js";

/** The environment as `process.env` has it. */
export type Env = Readonly<Record<string, string | undefined>>;

export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/**
 * Validates `env` against `schema` and returns the result deeply frozen. Empty (or blank) variables count as unset,
 * so `FOO=` in a manifest means "use the default" rather than "parse the empty string". On any problem it throws one
 * `ConfigError` naming every invalid variable; there is no silent fallback to defaults.
 *
 * @example
 * const config = loadConfig(producerEnvSchema, process.env); // or loadProducerConfig(process.env)
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): DeepReadonly<z.output<S>> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string" && value.trim() !== "") present[name] = value;
  }
  const result = schema.safeParse(present);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((issue) => ({
      variable: issue.path.length > 0 ? issue.path.map(String).join(".") : "(environment)",
      message: issue.message,
    }));
    throw new ConfigError(issues);
  }
  return deepFreeze(result.data) as DeepReadonly<z.output<S>>;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
