import { redactText } from "@barito-flow/logger";

/** The part of WHATWG `fetch` used here: the adapter tests and embedders replace. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown>; body: { cancel(): Promise<void> } | null }>;

export type ConsulErrorCode = "NO_INSTANCES" | "UNREACHABLE" | "BAD_RESPONSE";

/** A lookup that gave no usable answer. Every code is retriable: instances come back, Consul recovers. */
export class ConsulError extends Error {
  override readonly name = "ConsulError";
  readonly retriable = true;
  constructor(
    readonly code: ConsulErrorCode,
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ServiceInstance {
  /** The service's own address, or its node's when the service registered none (Consul's rule). */
  address: string;
  port: number;
  /** ServiceMeta, string values only. */
  meta: Readonly<Record<string, string>>;
}

export interface ConsulClientOptions {
  /** Consul's HTTP address: `http(s)://host:port`, or `host:port` (http), as barito-flow's BARITO_CONSUL_URL. */
  url: string;
  /** Bound of one lookup, answer included. Default 5,000 ms. */
  timeoutMs?: number;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
}

export interface ConsulClient {
  /**
   * The instances of `service` whose every health check passes (`GET /v1/health/service/<name>?passing`, and each
   * entry's checks looked at again, in case something between us and Consul dropped the filter). Rejects with
   * `ConsulError`: NO_INSTANCES when none passes, UNREACHABLE (transport, timeout, non-2xx), BAD_RESPONSE.
   */
  passingInstances(service: string): Promise<ServiceInstance[]>;
}

/** `host:port` gets barito-flow's (the Go Consul client's) default scheme. */
export function normaliseConsulUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, "");
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

interface HealthEntry {
  Node?: { Address?: unknown };
  Service?: { Address?: unknown; Port?: unknown; Meta?: unknown };
  Checks?: Array<{ Status?: unknown }>;
}

export function createConsulClient(options: ConsulClientOptions): ConsulClient {
  const normalised = normaliseConsulUrl(options.url);
  const shownBase = redactText(normalised);
  // `fetch` refuses credentials in a URL: a proxy's basic auth in BARITO_CONSUL_URL becomes the header it means.
  const parsed = new URL(normalised);
  const headers: Record<string, string> = { accept: "application/json" };
  if (parsed.username !== "" || parsed.password !== "") {
    const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
    parsed.username = "";
    parsed.password = "";
  }
  const base = parsed.toString().replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 5_000;
  const fetchFn: FetchLike = options.fetch ?? (globalThis.fetch as unknown as FetchLike);

  async function healthOf(service: string): Promise<unknown> {
    const url = `${base}/v1/health/service/${encodeURIComponent(service)}?passing`;
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await fetchFn(url, {
        method: "GET",
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ConsulError("UNREACHABLE", service, `Consul at ${shownBase} did not answer: ${reasonOf(err)}`, {
        cause: err,
      });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new ConsulError(
        "UNREACHABLE",
        service,
        `Consul at ${shownBase} answered ${response.status} for service ${service}`,
      );
    }
    try {
      return await response.json();
    } catch (err) {
      throw new ConsulError("BAD_RESPONSE", service, `Consul's answer for service ${service} is not JSON`, {
        cause: err,
      });
    }
  }

  return {
    async passingInstances(service) {
      const body = await healthOf(service);
      if (!Array.isArray(body)) {
        throw new ConsulError("BAD_RESPONSE", service, `Consul's answer for service ${service} is not a list`);
      }
      const instances = (body as HealthEntry[]).flatMap((entry) => {
        const instance = toInstance(entry);
        return instance ? [instance] : [];
      });
      if (instances.length === 0) {
        throw new ConsulError(
          "NO_INSTANCES",
          service,
          `Consul at ${shownBase} has no passing instance of service ${service} (${body.length} registered entries returned)`,
        );
      }
      return instances;
    },
  };
}

function toInstance(entry: HealthEntry): ServiceInstance | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const checks = Array.isArray(entry.Checks) ? entry.Checks : [];
  if (checks.some((check) => check?.Status !== "passing")) return undefined;
  const service = entry.Service;
  const own = typeof service?.Address === "string" ? service.Address : "";
  const node = typeof entry.Node?.Address === "string" ? entry.Node.Address : "";
  const address = own || node;
  const port = service?.Port;
  if (!address || typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  const meta: Record<string, string> = {};
  if (typeof service?.Meta === "object" && service.Meta !== null) {
    for (const [key, value] of Object.entries(service.Meta)) if (typeof value === "string") meta[key] = value;
  }
  return { address, port, meta };
}

function reasonOf(err: unknown): string {
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code === "string") return code;
  return redactText(err instanceof Error ? err.message : String(err));
}

/** `host:port`, IPv6 in brackets. */
export function hostPort(instance: ServiceInstance): string {
  return instance.address.includes(":")
    ? `[${instance.address}]:${instance.port}`
    : `${instance.address}:${instance.port}`;
}

/** Kafka bootstrap list: `<address>:<port>` of each instance (barito-flow's `ServiceAddress:ServicePort`). */
export function kafkaBrokers(instances: readonly ServiceInstance[]): string[] {
  return instances.map(hostPort);
}

/** `<ServiceMeta.http_schema, else http>://<address>:<port>` of each instance, as barito-flow builds them. */
export function elasticsearchUrls(instances: readonly ServiceInstance[]): string[] {
  return instances.map((instance) => {
    const scheme = instance.meta.http_schema?.toLowerCase() === "https" ? "https" : "http";
    return `${scheme}://${hostPort(instance)}`;
  });
}

/** `redis://<address>:<port>` of the first instance (`rediss://` when ServiceMeta `tls` is `true`). */
export function redisUrl(instances: readonly ServiceInstance[]): string {
  const [first] = instances;
  if (first === undefined) throw new RangeError("redisUrl needs at least one instance");
  return `${first.meta.tls === "true" ? "rediss" : "redis"}://${hostPort(first)}`;
}
