const configErrorBrand = Symbol.for("@barito-flow/config/error");

/** One invalid variable: its name (the env var, or a dotted path for nested schemas) and what is wrong with it. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/**
 * Thrown by `loadConfig` when the environment is invalid. Lists every problem at once so an operator fixes them in
 * one round. Messages never contain the values of secret variables.
 */
export class ConfigError extends Error {
  readonly code = "INVALID_CONFIG" as const;
  readonly retriable = false;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    const lines = issues.map((issue) => `  - ${issue.variable}: ${issue.message}`);
    super(`Invalid configuration (${count}):\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
    Object.defineProperty(this, configErrorBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[configErrorBrand] === true;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, issues: this.issues };
  }
}
