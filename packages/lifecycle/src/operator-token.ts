import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isHealthPath } from "./health.js";

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Fixed length whatever was sent, so the comparison below takes the same time for every candidate. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

const bearer = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i;

function pathOf(url: string | undefined): string {
  const text = url ?? "";
  const query = text.indexOf("?");
  return query === -1 ? text : text.slice(0, query);
}

/**
 * Wraps an operator port's whole request listener (metrics, status, DLQ tools, whatever routes it grows) so that every
 * request but the probes' must carry `Authorization: Bearer <token>`. Only the exact paths `/healthz` and `/readyz`
 * stay open: kubelets cannot send a token, and they tell nothing an attacker could use. Anything else, including a
 * path the inner router would not know, is refused first, so a new route can never be exposed by omission.
 * Without a token the listener is returned as it is.
 */
export function requireBearerToken<L extends RequestListener>(listener: L, token: string | undefined): L {
  if (token === undefined || token === "") return listener;
  const expected = digest(token);
  const guarded = (req: IncomingMessage, res: ServerResponse) => {
    if (isHealthPath(pathOf(req.url))) {
      listener(req, res);
      return;
    }
    const header = req.headers.authorization;
    const presented = header === undefined ? undefined : bearer.exec(header)?.[1];
    // Hash then compare: timingSafeEqual needs equal lengths, and comparing digests leaks neither length nor prefix.
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      listener(req, res);
      return;
    }
    const challenge =
      presented === undefined ? 'Bearer realm="barito-flow"' : 'Bearer realm="barito-flow", error="invalid_token"';
    const body = JSON.stringify({
      code: "UNAUTHENTICATED",
      message:
        presented === undefined
          ? "this endpoint requires Authorization: Bearer <BARITO_EXPORTER_TOKEN>"
          : "the bearer token is not valid",
    });
    res.writeHead(401, {
      "content-type": "application/json",
      "www-authenticate": challenge,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    // A body nobody will read must not hold the connection.
    req.resume();
  };
  return guarded as L;
}
