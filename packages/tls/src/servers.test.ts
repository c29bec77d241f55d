import { describe, expect, it } from "@jest/globals";
import type { TlsCertificates } from "./certificates.js";
import { isLoopback, warnIfCleartext } from "./servers.js";

describe("isLoopback", () => {
  it("knows this machine's own addresses from the reachable ones", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopback(host)).toBe(true);
    for (const host of ["", "0.0.0.0", "::", "10.0.0.1", "127.example.com", "192.168.1.1"])
      expect(isLoopback(host)).toBe(false);
  });
});

describe("warnIfCleartext", () => {
  it("warns once for a cleartext listener other machines reach, never for loopback or TLS", () => {
    const warnings: unknown[] = [];
    const logger = { warn: (msg: string, meta?: unknown) => warnings.push([msg, meta]) };
    warnIfCleartext(logger, "rest", "127.0.0.1", undefined);
    warnIfCleartext(logger, "grpc", "0.0.0.0", {} as TlsCertificates);
    expect(warnings).toEqual([]);
    warnIfCleartext(logger, "metrics", "", undefined);
    expect(warnings).toEqual([
      ["listening without TLS on an address other machines can reach", { listener: "metrics", host: "*" }],
    ]);
  });
});
