import { describe, expect, it } from "@jest/globals";
import { noopLogger } from "./logger.js";
import { isSecretKey, REDACTED, redactSecrets, redactText } from "./secrets.js";

describe("noopLogger", () => {
  it("accepts every call and returns itself as child", () => {
    expect(() => noopLogger.error("x", { err: new Error("y") })).not.toThrow();
    expect(noopLogger.child({ a: 1 })).toBe(noopLogger);
  });
});

describe("isSecretKey()", () => {
  const secretNames = [
    "password",
    "BARITO_REDIS_PASSWORD",
    "ELASTIC_PASSWORD",
    "app_secret",
    "appSecret",
    "clientSecret",
    "token",
    "access_token",
    "Authorization",
    "client_key",
    "clientKey",
    "marketClientKey",
    "MARKET_REDACT_CLIENT_KEY",
    "apiKey",
    "privateKey",
    "cookie",
    "credentials",
    "auth",
    // The producer's app authentication and the operator token (config fields and AuthRequest).
    "secret",
    "secrets",
    "accessToken",
    "BARITO_PRODUCER_AUTH_SECRETS",
    "BARITO_EXPORTER_TOKEN",
    // librdkafka's own property names, as its debug contexts echo them
    "sasl.password",
    "sasl.username",
    "sasl.oauthbearer.config",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.keystore.password",
  ];
  const ordinaryNames = [
    "remainingTokens",
    "topic",
    "clientKeyPath",
    "caCertFile",
    "app_name",
    "tokensUsed",
    "username",
    "ssl.ca.pem",
    // Where the secrets are, not what they are: shown, so a failed reload can be traced.
    "BARITO_PRODUCER_AUTH_SECRETS_FILE",
    "path",
  ];

  it("tells secret names from ordinary ones", () => {
    expect(secretNames.filter((key) => !isSecretKey(key))).toEqual([]);
    expect(ordinaryNames.filter((key) => isSecretKey(key))).toEqual([]);
  });
});

describe("redactText()", () => {
  it("masks the password of URLs with credentials and keeps the user", () => {
    expect(redactText("redis://:pw@h:6379 and https://u:p@es:9200/x")).toBe(
      "redis://:[REDACTED]@h:6379 and https://u:[REDACTED]@es:9200/x",
    );
    expect(redactText("http://es:9200")).toBe("http://es:9200");
    expect(redactText("mail me at a@b.c")).toBe("mail me at a@b.c");
  });

  it("masks a credential used as the user name, and a password with an unescaped @, entirely", () => {
    expect(redactText("GET https://ghp_token123@git.example/x failed")).toBe(
      "GET https://[REDACTED]@git.example/x failed",
    );
    const text = redactText("connect ECONNREFUSED http://elastic:p@ss:word@es:9200/_bulk");
    expect(text).toBe("connect ECONNREFUSED http://elastic:[REDACTED]@es:9200/_bulk");
    expect(text).not.toMatch(/ss:word/);
  });

  it("replaces every occurrence of a known secret value, and skips values too short to be told from words", () => {
    expect(redactText("user=app pass=s3cret again s3cret", ["s3cret", "abc"])).toBe(
      `user=app pass=${REDACTED} again ${REDACTED}`,
    );
    expect(redactText("p.ss+word and pXssword", ["p.ss+word"])).toBe(`${REDACTED} and pXssword`);
    expect(redactText("abc", ["abc"])).toBe("abc");
  });
});

describe("redactSecrets()", () => {
  it("copies plain data with secret-named values and secrets inside strings replaced, at any depth", () => {
    const config = {
      kafka: { brokers: ["k:9092"], sasl: { mechanism: "plain", username: "kuser", password: "kafkapass" } },
      redis: { url: "redis://user:urlpass@redis:6379", keyPrefix: "p:" },
      list: [{ token: "t1" }, "https://a:b@host"],
      detail: "config sasl.password=known-secret",
      tls: { clientKeyPath: "/etc/k.pem" },
    };
    const copy = redactSecrets(config, ["known-secret"]);
    expect(copy).toEqual({
      kafka: { brokers: ["k:9092"], sasl: { mechanism: "plain", username: "kuser", password: REDACTED } },
      redis: { url: "redis://user:[REDACTED]@redis:6379", keyPrefix: "p:" },
      list: [{ token: REDACTED }, "https://a:[REDACTED]@host"],
      detail: `config sasl.password=${REDACTED}`,
      tls: { clientKeyPath: "/etc/k.pem" },
    });
    expect(config.kafka.sasl.password).toBe("kafkapass");
  });

  it("leaves unset secrets visible as unset and non-plain values as they are", () => {
    const when = new Date(0);
    expect(redactSecrets({ password: undefined, token: "", nested: { apiKey: null }, when, n: 1n })).toEqual({
      password: undefined,
      token: "",
      nested: { apiKey: null },
      when,
      n: 1n,
    });
  });

  it("cuts cycles instead of recursing forever", () => {
    const cyclic: Record<string, unknown> = { name: "loop", secret: "x" };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toEqual({ name: "loop", secret: REDACTED, self: "[Circular]" });
  });
});
