// `barito-flow producer --dry-run`: Kafka adapters that accept without writing. Requests are validated,
// rate-limited and answered as usual (with `barito-dry-run: true`), for load tests of clients; no record is
// written and no topic created or announced.
import type { ProducerAppDeps } from "./app.js";
import type { TopicAdmin } from "./produce/ports.js";

/** On every answer of a dry-run producer: REST and Connect headers, gRPC response metadata. */
export const dryRunHeaders: Readonly<Record<string, string>> = Object.freeze({ "barito-dry-run": "true" });

/** A publisher that acknowledges every record at once and keeps none. */
export function createDryRunPublisher(): ProducerAppDeps["publisher"] & {
  connect(): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
  nativeCallRunning(): boolean;
} {
  return {
    connect: () => Promise.resolve(),
    publish: () => Promise.resolve(),
    isConnected: () => true,
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    nativeCallRunning: () => false,
  };
}

/** An admin for which every topic exists already: the provisioner neither creates nor announces one. */
export function createDryRunAdmin(): ProducerAppDeps["admin"] &
  TopicAdmin & { connect(): Promise<void>; close(timeoutMs?: number): Promise<void>; nativeCallRunning(): boolean } {
  return {
    connect: () => Promise.resolve(),
    ping: () => Promise.resolve(true),
    topicExists: () => Promise.resolve(true),
    createTopic: () => Promise.resolve("exists"),
    close: () => Promise.resolve(),
    nativeCallRunning: () => false,
  };
}
