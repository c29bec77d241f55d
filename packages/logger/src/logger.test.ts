import { describe, expect, it } from "@jest/globals";
import { noopLogger } from "./logger.js";
import { isSecretKey, redactUrlCredentials } from "./redact.js";

describe("noopLogger", () => {
  it("accepts every call and returns itself as child", () => {
    expect(() => noopLogger.error("x", { err: new Error("y") })).not.toThrow();
    expect(noopLogger.child({ a: 1 })).toBe(noopLogger);
  });
});

describe("isSecretKey()", () => {
  it.each([
    "password",
    "BARITO_REDIS_PASSWORD",
    "app_secret",
    "appSecret",
    "token",
    "access_token",
    "Authorization",
    "client_key",
    "clientKey",
    "marketClientKey",
    "apiKey",
    "privateKey",
    "cookie",
    "credentials",
  ])("%s is secret", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });
  it.each(["remainingTokens", "topic", "clientKeyPath", "caCertFile", "app_name", "tokensUsed"])("%s is not", (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe("redactUrlCredentials()", () => {
  it("masks only the password of URLs with credentials", () => {
    expect(redactUrlCredentials("redis://:pw@h:6379 and https://u:p@es:9200/x")).toBe(
      "redis://:[REDACTED]@h:6379 and https://u:[REDACTED]@es:9200/x",
    );
    expect(redactUrlCredentials("http://es:9200")).toBe("http://es:9200");
    expect(redactUrlCredentials("mail me at a@b.c")).toBe("mail me at a@b.c");
  });
});
