import { SinkError } from "./errors.js";
import type { Logger } from "@barito-flow/logger";
import type { BulkClient, BulkSinkOptions, Clock, FlushStats } from "./types.js";

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** `BulkSinkOptions` with every default filled in and every value checked. */
export interface SinkSettings {
  client: BulkClient;
  maxDocs: number;
  maxBytes: number;
  flushIntervalMs: number;
  maxInFlight: number;
  maxBufferedDocs: number;
  resumeBelowDocs: number;
  minDelayMs: number;
  maxDelayMs: number;
  degradedAfterFailures: number;
  clock: Clock;
  random: () => number;
  logger: Logger | undefined;
  onFlush: ((stats: FlushStats) => void) | undefined;
}

function invalidConfig(field: string, message: string): SinkError {
  return new SinkError("INVALID_CONFIG", `${field}: ${message}`, { retriable: false, field });
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved <= 0) throw invalidConfig(field, "must be a positive integer");
  return resolved;
}

/** Fills in the defaults (see README) and throws `SinkError` INVALID_CONFIG with the `field` of a bad value. */
export function resolveSinkOptions(options: BulkSinkOptions): SinkSettings {
  const client = options.client;
  if (!client || typeof client.bulk !== "function") throw invalidConfig("client", "a BulkClient is required");
  // Checked in this order, so the first bad field is the one reported.
  const maxDocs = positiveInteger(options.maxDocs, 100, "maxDocs");
  const maxBytes = positiveInteger(options.maxBytes, 5 * 1024 * 1024, "maxBytes");
  const flushIntervalMs = positiveInteger(options.flushIntervalMs, 500, "flushIntervalMs");
  const maxInFlight = positiveInteger(options.maxInFlight, 2, "maxInFlight");
  const maxBufferedDocs = positiveInteger(options.maxBufferedDocs, 5_000, "maxBufferedDocs");
  const resumeBelowDocs = options.resumeBelowDocs ?? Math.floor(maxBufferedDocs / 2);
  if (!Number.isInteger(resumeBelowDocs) || resumeBelowDocs < 0 || resumeBelowDocs >= maxBufferedDocs) {
    throw invalidConfig("resumeBelowDocs", "must be an integer in [0, maxBufferedDocs)");
  }
  const minDelayMs = positiveInteger(options.retry?.minDelayMs, 200, "retry.minDelayMs");
  const maxDelayMs = positiveInteger(options.retry?.maxDelayMs, 15_000, "retry.maxDelayMs");
  if (maxDelayMs < minDelayMs) throw invalidConfig("retry.maxDelayMs", "must be >= retry.minDelayMs");
  const degradedAfterFailures = positiveInteger(options.degradedAfterFailures, 3, "degradedAfterFailures");
  return {
    client,
    maxDocs,
    maxBytes,
    flushIntervalMs,
    maxInFlight,
    maxBufferedDocs,
    resumeBelowDocs,
    minDelayMs,
    maxDelayMs,
    degradedAfterFailures,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger,
    onFlush: options.onFlush,
  };
}
