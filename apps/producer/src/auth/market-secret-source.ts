import type { Logger } from "@barito-flow/logger";
import { ProduceError } from "../produce/produce-error.js";
import type { SecretSource } from "./app-authenticator.js";
import type { SecretDigester } from "./secret-digest.js";
import type { AppGrant } from "./secret-table.js";

export interface MarketSecretSourceOptions {
  /** BaritoMarket's app profile lookup, e.g. https://market/api/v2/profile (BARITO_PRODUCER_AUTH_MARKET_URL). */
  url: string;
  /** Sent as `access_token`, which the market's v2 API requires (BARITO_PRODUCER_AUTH_MARKET_ACCESS_TOKEN). */
  accessToken: string | undefined;
  digester: SecretDigester;
  /** A known secret's answer is used this long, then refreshed in the background (BARITO_PRODUCER_AUTH_MARKET_CACHE_TTL). */
  cacheTtlMs: number;
  /** Per market request (BARITO_PRODUCER_AUTH_MARKET_TIMEOUT). */
  timeoutMs: number;
  logger: Logger;
  /** Secrets remembered at once (known and unknown); default 10 000. */
  maxEntries?: number;
  /** Market requests at once; a lookup beyond it is answered AUTH_UNAVAILABLE. Default 32. */
  maxConcurrent?: number;
  now?: () => number;
}

interface Entry {
  digest: Buffer;
  /** undefined: the market said the secret is unknown (or its app inactive). */
  grant: AppGrant | undefined;
  fetchedAt: number;
  refreshing: boolean;
}

/** Unknown secrets are asked again sooner than known ones: a new app should not wait a whole TTL. */
const maxNegativeTtlMs = 10_000;

class MarketUnreachable extends Error {
  override readonly name = "MarketUnreachable";
}

/**
 * App secrets checked against BaritoMarket's profile API (`GET <url>?app_secret=...`, the lookup barito-router
 * makes): 200 with `meta.kafka.topic_name` grants that topic, 404 means unknown or inactive. Answers are cached by
 * the secret's digest: a known secret is answered from the cache and refreshed in the background after the TTL,
 * and while the market is unreachable the last answer it gave stays in force (a secret it never answered for gets
 * AUTH_UNAVAILABLE, 503). Lookups of the same secret share one request.
 */
export function createMarketSecretSource(options: MarketSecretSourceOptions): SecretSource {
  const { digester, logger, cacheTtlMs, timeoutMs } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxConcurrent = options.maxConcurrent ?? 32;
  const now = options.now ?? Date.now;
  const negativeTtlMs = Math.min(cacheTtlMs, maxNegativeTtlMs);
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Promise<AppGrant | undefined>>();
  let running = 0;
  let reachable = true;

  function requestUrl(secret: string): string {
    const url = new URL(options.url);
    url.searchParams.set("app_secret", secret);
    if (options.accessToken !== undefined) url.searchParams.set("access_token", options.accessToken);
    return url.toString();
  }

  async function ask(secret: string): Promise<AppGrant | undefined> {
    let res: Response;
    try {
      res = await fetch(requestUrl(secret), {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      // Only the error's name: undici's messages and causes can carry the URL, and with it the secret.
      throw new MarketUnreachable(`request failed (${(err as Error)?.name ?? "error"})`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new MarketUnreachable(`answered HTTP ${res.status}`);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new MarketUnreachable("answered with a body that is not JSON");
    }
    const topic = (body as { meta?: { kafka?: { topic_name?: unknown } } })?.meta?.kafka?.topic_name;
    if (typeof topic !== "string" || topic === "")
      throw new MarketUnreachable("answered without meta.kafka.topic_name");
    return { topics: new Set([topic]) };
  }

  function remember(key: string, digest: Buffer, grant: AppGrant | undefined): void {
    cache.delete(key);
    cache.set(key, { digest, grant, fetchedAt: now(), refreshing: false });
    if (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  }

  function noteReachable(ok: boolean, problem?: string): void {
    if (ok && !reachable) logger.info("app-secret market reachable again");
    if (!ok && reachable) logger.warn("app-secret market unreachable; cached answers stay in force", { problem });
    reachable = ok;
  }

  /** One request per secret at a time; the answer is cached, a failure is not. */
  function fetchGrant(secret: string, key: string, digest: Buffer): Promise<AppGrant | undefined> {
    const shared = pending.get(key);
    if (shared) return shared;
    if (running >= maxConcurrent) {
      return Promise.reject(new MarketUnreachable(`more than ${maxConcurrent} lookups at once`));
    }
    running++;
    const request = ask(secret)
      .then((grant) => {
        noteReachable(true);
        remember(key, digest, grant);
        return grant;
      })
      .catch((err: unknown) => {
        noteReachable(false, (err as Error).message);
        throw err;
      })
      .finally(() => {
        running--;
        pending.delete(key);
      });
    pending.set(key, request);
    return request;
  }

  return {
    lookup(secret) {
      const digest = digester.digest(secret);
      const key = digester.key(digest);
      const entry = cache.get(key);
      const cached = entry !== undefined && digester.same(entry.digest, digest) ? entry : undefined;
      if (cached !== undefined) {
        const fresh = now() - cached.fetchedAt < (cached.grant ? cacheTtlMs : negativeTtlMs);
        if (fresh) return cached.grant;
        if (cached.grant !== undefined) {
          // Known and stale: answered from the cache at once, refreshed behind it.
          if (!cached.refreshing) {
            cached.refreshing = true;
            fetchGrant(secret, key, digest).then(
              () => {},
              () => {
                cached.refreshing = false;
                // Not asked again on every request while the market is down: once per TTL.
                cached.fetchedAt = now();
              },
            );
          }
          return cached.grant;
        }
      }
      return fetchGrant(secret, key, digest).catch((err: unknown) => {
        // The market's last word on this secret, if it ever gave one, stands while it cannot be asked.
        if (cached !== undefined) return cached.grant;
        throw new ProduceError("AUTH_UNAVAILABLE", "the app-secret market cannot be reached; retry later", {
          retryAfterMs: 5_000,
          cause: err,
        });
      });
    },
  };
}
