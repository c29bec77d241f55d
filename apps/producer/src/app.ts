import type { Server } from "node:http";
import type { Http2SecureServer, Http2Server, Http2Session } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type Readiness, waitUntil } from "@barito-flow/lifecycle";
import type { Logger } from "@barito-flow/logger";
import { createHttp2Listener, createHttpListener, type TlsCertificates, warnIfCleartext } from "@barito-flow/tls";
import { createProducerHandlers, type ProducerHandlers } from "./app-handlers.js";
import type { ProducerConfig } from "./config.js";
import { watchKafka } from "./kafka-health.js";
import type { ProducerMetrics } from "./metrics.js";
import { createInFlightBudget } from "./produce/in-flight.js";
import { ProduceError } from "./produce/produce-error.js";
import type { Authenticator, LogPublisher, RateLimiter, TopicAdmin } from "./produce/ports.js";
import { createProducerService } from "./produce/producer-service.js";
import { createTopicProvisioner, type TopicProvisioner } from "./produce/topic-provisioner.js";
import { createProducerStatus } from "./status.js";
import { observeLimits } from "./status-limits.js";

/** The adapters the app is composed of; main.ts builds the real ones, tests pass fakes. */
export interface ProducerAppDeps {
  config: ProducerConfig;
  logger: Logger;
  publisher: LogPublisher & {
    flush?(timeoutMs?: number): Promise<void>;
    close?(timeoutMs?: number): Promise<void>;
    brokerCount?(): Promise<number>;
    /** Why the publisher is not connected, for /readyz (AUTHENTICATION_FAILED names a configuration error). */
    connectionProblem?(): { code: string } | undefined;
  };
  /** Probed every 2 s: Kafka's reachability for /readyz and for failing requests fast. */
  admin: { ping(): Promise<boolean> };
  /** Creates missing topics and announces them (produce/topic-provisioner.ts). */
  topics: TopicProvisioner;
  rateLimiter: RateLimiter;
  metrics: ProducerMetrics;
  /** The receive time written into each Timber. */
  clock?: () => Date;
  /**
   * TLS of the REST and gRPC ports (`service`) and of the operator port; absent: cleartext (main.ts builds them).
   * `warnCleartext` (default true): warn of a cleartext port not on loopback; one worker of a cluster says it for all.
   */
  tls?: { service?: TlsCertificates; operator?: TlsCertificates; warnCleartext?: boolean };
  /** Headers on every answer of every port (HTTP headers; response metadata for gRPC), e.g. `barito-dry-run`. */
  responseHeaders?: Readonly<Record<string, string>>;
  /** BARITO_PRODUCER_AUTH=app-secret (auth/create-authenticator.ts builds it); absent: no app authentication. */
  authenticator?: Authenticator;
  /** Logs Kafka acknowledged, per app_secret: the counts pushed to BaritoMarket (BARITO_PUSH_METRIC_URL). */
  countAccepted?: (appSecret: string, logs: number) => void;
}

export interface ListenAddresses {
  rest: { host: string; port: number } | undefined;
  grpc: { host: string; port: number };
  /** Absent in a cluster worker: the primary serves the workers' metrics, aggregated, on that port. */
  metrics: { host: string; port: number } | undefined;
}

export interface ProducerApp {
  /** Starts the listeners; resolves with the bound ports (useful with port 0). */
  listen(addresses: ListenAddresses): Promise<{ rest?: number; grpc: number; metrics?: number }>;
  readiness(): Readiness;
  /** The request handlers of the three ports and the connect routes, to drive the app without listening. */
  readonly handlers: ProducerHandlers;
  /**
   * Graceful stop within `timeoutMs`: readiness off, stop accepting, finish in-flight requests, flush Kafka. Requests
   * Kafka has not acknowledged by the deadline are answered with a retryable 503 (their records may still land: at
   * least once). `drained` is false when that happened, i.e. the stop was cut short.
   */
  close(timeoutMs: number): Promise<{ drained: boolean }>;
}

/** The deps with the topic provisioner built on Kafka's admin and publisher, as main.ts builds it. */
export function withTopicProvisioner(
  deps: Omit<ProducerAppDeps, "topics" | "admin"> & { admin: ProducerAppDeps["admin"] & TopicAdmin },
): ProducerAppDeps {
  const { config, admin, publisher, logger, metrics } = deps;
  const topics = createTopicProvisioner({
    admin,
    publisher,
    newTopicEventTopic: config.kafka.newTopicEventTopic,
    ignoreKafkaOptions: config.producer.ignoreKafkaTopicOptions,
    logger: logger.child({ component: "topics" }),
    onAnnouncementFailed: metrics.announcementFailed,
  });
  return { ...deps, topics };
}

/** Composes the produce path with its four protocols, health and metrics. Touches no env and no signals. */
export function createProducerApp(deps: ProducerAppDeps): ProducerApp {
  const { config, logger, publisher, admin, topics, metrics } = deps;
  // Each decision is remembered for the status page's per-app limits.
  const limits = observeLimits(deps.rateLimiter);
  const shutdown = new AbortController();
  const budget = createInFlightBudget({
    maxBytes: config.producer.maxInflightBytes,
    maxRecords: config.producer.maxInflightRecords,
  });
  metrics.watchInFlight(budget.usage);
  let inFlight = 0;

  // The broker count caps kafka_replication_factor (validate.ts); it is read with each successful probe. The most
  // brokers seen, not the live count: a broker down for a restart or a crash must not turn requests for topics of
  // 3 replicas into 400s (Kafka itself refuses a topic it cannot place, and that refusal is a 400 too).
  let brokers: number | undefined;
  const kafka = watchKafka(
    async () => {
      const ok = await admin.ping();
      if (ok && publisher.brokerCount) {
        const live = await publisher.brokerCount().catch(() => undefined);
        if (live !== undefined) brokers = Math.max(brokers ?? 0, live);
      }
      return ok;
    },
    {
      intervalMs: 2_000,
      logger: logger.child({ component: "kafka-health" }),
      isConnected: () => publisher.isConnected(),
    },
  );
  const probedPublisher = {
    publish: publisher.publish.bind(publisher),
    isConnected: () => kafka.isReachable(),
  };

  const { countAccepted } = deps;
  const observer: typeof metrics.observer = countAccepted
    ? {
        ...metrics.observer,
        stored(topic, logs, bytes, seconds, appSecret) {
          metrics.observer.stored?.(topic, logs, bytes, seconds, appSecret);
          countAccepted(appSecret, logs);
        },
      }
    : metrics.observer;
  const core = createProducerService({
    publisher: probedPublisher,
    topics,
    rateLimiter: limits.limiter,
    logger: logger.child({ component: "produce" }),
    observer,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.authenticator ? { authenticator: deps.authenticator } : {}),
    settings: {
      topicPrefix: config.kafka.topicPrefix,
      topicSuffix: config.kafka.topicSuffix,
      maxBatchItems: config.producer.maxBatchItems,
      maxTopicPartitions: config.producer.maxTopicPartitions,
      ignoreKafkaOptions: config.producer.ignoreKafkaTopicOptions,
      brokerCount: () => brokers,
      messageFormat: config.producer.messageFormat,
      maxMessageBytes: config.producer.maxMessageBytes,
    },
  });

  // Counts requests so shutdown can wait for them, and refuses new ones once shutdown began. Not async: an async
  // function would keep `run` (and through it the parsed request) alive until Kafka answers.
  function tracked<T>(run: () => Promise<T>): Promise<T> {
    if (shutdown.signal.aborted) {
      return Promise.reject(
        new ProduceError("SHUTTING_DOWN", "the producer is shutting down; retry on another instance", {
          retryAfterMs: 1000,
        }),
      );
    }
    inFlight++;
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.finally(() => {
      inFlight--;
    });
  }
  const service = {
    produce: (...args: Parameters<typeof core.produce>) => tracked(() => core.produce(...args)),
    produceBatch: (...args: Parameters<typeof core.produceBatch>) => tracked(() => core.produceBatch(...args)),
  };

  function readiness(): Readiness {
    const kafkaReachable = kafka.isReachable();
    const accepting = !shutdown.signal.aborted;
    const problem = kafkaReachable ? undefined : publisher.connectionProblem?.();
    return {
      ready: kafkaReachable && accepting,
      checks: { kafka: kafkaReachable, ...(problem ? { kafkaError: problem.code } : {}), accepting },
    };
  }
  const status = createProducerStatus({
    registry: metrics.registry,
    readiness,
    limits: limits.uses,
    limitIntervalMs: config.rateLimit.intervalMs,
  });
  const handlers = withResponseHeaders(
    deps.responseHeaders,
    createProducerHandlers({
      service,
      budget,
      metrics,
      readiness,
      status,
      readMaxBytes: config.producer.grpcMaxRecvMsgSize,
      restEnabled: config.producer.restEnabled,
      shutdownSignal: shutdown.signal,
      operatorToken: config.metrics.token,
      onUnexpected: (err) => logger.error("unexpected error while producing", { err }),
      onHandlerFailure: (err) => logger.error("RPC handler failed", { err }),
    }),
  );

  let draining = false;
  const servers: Array<Server | HttpsServer | Http2Server | Http2SecureServer> = [];
  const sessions = new Set<Http2Session>();

  function listenOn(
    server: (typeof servers)[number],
    address: { host: string; port: number },
    name: string,
    tls: TlsCertificates | undefined,
  ): Promise<number> {
    if (deps.tls?.warnCleartext !== false) warnIfCleartext(logger, name, address.host, tls);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  return {
    readiness,
    handlers,
    async listen(addresses) {
      // gRPC needs HTTP/2 with trailers; a cleartext port cannot serve HTTP/1.1 and h2c at once, hence two ports.
      const { service: serviceTls, operator: operatorTls } = deps.tls ?? {};
      const grpcServer = createHttp2Listener(handlers.grpc, serviceTls, "grpc");
      grpcServer.on("session", (session) => {
        sessions.add(session);
        session.once("close", () => sessions.delete(session));
      });
      servers.push(grpcServer);
      const ports: { rest?: number; grpc: number; metrics?: number } = {
        grpc: await listenOn(grpcServer, addresses.grpc, "grpc", serviceTls),
      };
      if (addresses.metrics) {
        const metricsServer = createHttpListener(handlers.metrics, operatorTls, "metrics");
        servers.push(metricsServer);
        ports.metrics = await listenOn(metricsServer, addresses.metrics, "metrics", operatorTls);
        status.start();
      }
      if (addresses.rest) {
        const restServer = createHttpListener(
          (req, res) => {
            // A keep-alive client learns with this answer to send its next request elsewhere.
            if (draining) res.setHeader("connection", "close");
            handlers.rest(req, res);
          },
          serviceTls,
          "rest",
        );
        // Slow-loris protection: a client must send its headers and body within these bounds.
        restServer.headersTimeout = 30_000;
        restServer.requestTimeout = config.producer.requestTimeoutMs + 30_000;
        servers.push(restServer);
        ports.rest = await listenOn(restServer, addresses.rest, "rest", serviceTls);
      }
      logger.info("producer listening", {
        ...ports,
        tls: serviceTls ? (serviceTls.mutual ? "mtls" : "tls") : "none",
        metricsTls: Boolean(operatorTls),
      });
      return ports;
    },
    async close(timeoutMs) {
      status.stop();
      const deadline = Date.now() + timeoutMs;
      // Room kept before the deadline to answer the requests Kafka did not acknowledge in time.
      const answerMs = Math.min(2_000, Math.floor(timeoutMs / 4));
      // New connections are refused and HTTP/2 clients get a GOAWAY (streams it does not cover are refused
      // unprocessed, which clients retry elsewhere), but requests already sent on open connections are served:
      // refusing them would fail clients whose balancer took this replica out at the same moment. A short grace
      // covers the ones still on the wire, then the drain waits for every request begun (budget reserved).
      draining = true;
      for (const server of servers) server.close();
      for (const session of sessions) session.close();
      const graceEnd = Date.now() + Math.min(1_000, Math.floor(timeoutMs / 10));
      await waitUntil(
        () => Date.now() >= graceEnd && inFlight === 0 && budget.usage().bytes === 0,
        deadline - answerMs - Date.now(),
        20,
      );
      shutdown.abort();
      kafka.stop();
      // Announcements get one more chance, but not past the deadline: one waiting on an unreachable Kafka is failed
      // below with the requests.
      await Promise.race([
        topics.close(),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - answerMs - Date.now())).unref()),
      ]);
      let flushed = true;
      await publisher.flush?.(Math.max(0, deadline - answerMs - Date.now())).catch((err: unknown) => {
        flushed = false;
        logger.warn("Kafka flush at shutdown failed", { err });
      });
      const unanswered = inFlight;
      if (unanswered > 0 || !flushed) {
        // Fails every publish still waiting (a retryable CLOSED), so each such request gets its 503 now.
        await publisher.close?.(0);
        await waitUntil(() => inFlight === 0, deadline - Date.now(), 20);
        // The answers were just written; let them leave before the connections are cut.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const server of servers) if ("closeAllConnections" in server) server.closeAllConnections();
      const drained = unanswered === 0 && flushed;
      logger.info("producer stopped", {
        drained,
        answeredAtDeadline: unanswered - inFlight,
        inFlightAbandoned: inFlight,
      });
      return { drained };
    },
  };
}

/** Every handler's answers get `headers`: set before the handler runs, they merge into whatever it writes. */
function withResponseHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  handlers: ProducerHandlers,
): ProducerHandlers {
  if (!headers || Object.keys(headers).length === 0) return handlers;
  const entries = Object.entries(headers);
  const wrap =
    <Req, Res extends { setHeader(name: string, value: string): unknown }>(listener: (req: Req, res: Res) => void) =>
    (req: Req, res: Res) => {
      for (const [name, value] of entries) res.setHeader(name, value);
      listener(req, res);
    };
  return { ...handlers, rest: wrap(handlers.rest), grpc: wrap(handlers.grpc), metrics: wrap(handlers.metrics) };
}
