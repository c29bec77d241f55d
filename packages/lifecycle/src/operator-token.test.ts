import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { requireBearerToken } from "./operator-token.js";

const token = "0123456789abcdef-operator";

function inner(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/plain" }).end(`served ${req.url}`);
}

describe("requireBearerToken", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer(requireBearerToken(inner, token));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("leaves the probes open", async () => {
    for (const path of ["/healthz", "/readyz", "/readyz?verbose=1"]) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
    }
  });

  it("refuses every other path without the token, with a Bearer challenge", async () => {
    for (const path of ["/metrics", "/status", "/status.json", "/healthz/", "//healthz", "/no-such-route", "/"]) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get("www-authenticate")]).toEqual([
        path,
        401,
        'Bearer realm="barito-flow"',
      ]);
      expect(await res.json()).toMatchObject({ code: "UNAUTHENTICATED" });
    }
  });

  it("refuses a wrong, longer, shorter or differently-schemed token", async () => {
    for (const authorization of [
      "Bearer wrong",
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Basic ${token}`,
      token,
      "Bearer",
      `Bearer ${token} extra`,
    ]) {
      const res = await fetch(`${base}/metrics`, { headers: { authorization } });
      expect([authorization, res.status]).toEqual([authorization, 401]);
      expect(await res.text()).not.toContain(token);
    }
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer wrong" } });
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("serves the right token, whatever the scheme's case", async () => {
    for (const authorization of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token} `]) {
      const res = await fetch(`${base}/metrics?x=1`, { headers: { authorization } });
      expect([authorization, res.status, await res.text()]).toEqual([authorization, 200, "served /metrics?x=1"]);
    }
  });

  it("returns the listener unchanged without a token", () => {
    expect(requireBearerToken(inner, undefined)).toBe(inner);
    expect(requireBearerToken(inner, "")).toBe(inner);
  });
});
