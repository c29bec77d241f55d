// `barito-flow consumer --dry-run`: the consumer's own adapters with the writing ones swapped for ones that accept
// without writing. The app, the pipeline and the redaction run unchanged; what would be indexed is printed instead.
import { randomUUID } from "node:crypto";
import type { BatchConsumer } from "@barito-flow/kafka";
import type { BulkOperation, BulkSink, ItemOutcome } from "@barito-flow/opensearch-sink";
import type { ConsumerAdapters } from "./app.js";
import { UsageError } from "./dlq/options.js";

export interface DryRunFlags {
  dryRun: boolean;
  from: "earliest" | "latest";
}

/** `consumer`'s `--dry-run [--from earliest|latest]`; other flags (`--check-config`) are main.ts's. */
export function parseDryRunFlags(flags: readonly string[]): DryRunFlags {
  const dryRun = flags.includes("--dry-run");
  const at = flags.indexOf("--from");
  if (at < 0) return { dryRun, from: "earliest" };
  const from = flags[at + 1];
  if (from !== "earliest" && from !== "latest")
    throw new UsageError(`--from: '${from ?? ""}' is neither earliest nor latest`);
  if (!dryRun)
    throw new UsageError(
      "--from is an option of --dry-run only (the consumer's group starts at BARITO_CONSUMER_INITIAL_OFFSET)",
    );
  return { dryRun, from };
}

export interface DryRunOptions {
  /** Where the throwaway groups start: there is no committed offset to resume from. */
  from: "earliest" | "latest";
  /** One NDJSON line per document: index, id, and the document as it would be indexed (after redaction). */
  print(line: string): void;
}

const indexed: ItemOutcome = { status: "indexed", httpStatus: 201, result: "created" };

function documentText(document: BulkOperation["document"]): string {
  if (typeof document === "string") return document;
  if (document instanceof Uint8Array)
    return Buffer.from(document.buffer, document.byteOffset, document.byteLength).toString();
  return JSON.stringify(document);
}

/** A sink that prints each operation and answers it indexed. */
export function createPrintingSink(print: (line: string) => void): BulkSink {
  return {
    add(op) {
      print(dryRunLine(op));
      return Promise.resolve(indexed);
    },
    submit(op, done) {
      print(dryRunLine(op));
      // Outcomes arrive later than the submit, as with the real sink: the pipeline tracks a record before it settles.
      queueMicrotask(() => done(indexed, op));
    },
    isSaturated: () => false,
    onDrain: () => () => {},
    waitForCapacity: () => Promise.resolve(),
    flush: () => Promise.resolve(),
    drain: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({
      indexed: 0,
      duplicates: 0,
      rejected: 0,
      retriedItems: 0,
      retriedRequests: 0,
      bulkRequests: 0,
      failedRequests: 0,
      bulkLatenciesMs: [],
      inFlightRequests: 0,
      buffered: 0,
      awaitingRetry: 0,
      pending: 0,
    }),
    health: () => ({ state: "ok", consecutiveFailures: 0 }),
  };
}

/** The document's JSON is spliced in as it is: its key order and numbers stay exactly what would be sent. */
export function dryRunLine(op: BulkOperation): string {
  return `{"index":${JSON.stringify(op.index)},"id":${JSON.stringify(op.id)},"document":${documentText(op.document)}}`;
}

/** A group consumer whose commits are dropped. */
function withoutCommits(consumer: BatchConsumer): BatchConsumer {
  return { ...consumer, commit: () => Promise.resolve() };
}

/**
 * The dry run's adapters: documents printed (nothing indexed, no template created, no counts pushed), dead letters
 * accepted without being written (the writer still logs each), and every group a throwaway one whose offsets are
 * never committed.
 */
export function dryRunAdapters(adapters: ConsumerAdapters, options: DryRunOptions): ConsumerAdapters {
  // Nothing is indexed, so nothing is pushed to BaritoMarket either.
  const { ensureDataStream: _notCreated, pushMetrics: _notPushed, ...kept } = adapters;
  const run = randomUUID().slice(0, 8);
  return {
    ...kept,
    sink: createPrintingSink(options.print),
    deadLetters: {
      connect: () => Promise.resolve(),
      publish: () => Promise.resolve(),
      close: () => Promise.resolve(),
      nativeCallRunning: () => false,
    },
    createConsumer: (consumerOptions) =>
      withoutCommits(
        adapters.createConsumer({
          ...consumerOptions,
          groupId: `${consumerOptions.groupId}-dry-run-${run}`,
          fromBeginning: options.from === "earliest",
        }),
      ),
  };
}
