import { type Logger, noopLogger } from "@barito-flow/logger";
import { expect } from "@jest/globals";
import { createBulkSink } from "../bulk-sink.js";
import { SinkError } from "../errors.js";
import type { BulkClient, BulkOperation, BulkResponseItem, BulkSinkOptions, ItemOutcome } from "../types.js";
import { ManualClock } from "./manual-clock.js";

export interface ParsedOp {
  action: string;
  index: string;
  id: string;
  source: string;
}

export type Responder = (
  ops: ParsedOp[],
  call: number,
) => BulkResponseItem[] | Error | Promise<BulkResponseItem[] | Error>;

/**
 * Fake BulkClient: records every request and answers with the responder's per-item statuses. With `encodedBodies`
 * it also takes the encoded body (`bulkBody`, as the HTTP client does) and checks its framing.
 */
export class FakeBulkClient implements BulkClient {
  calls: ParsedOp[][] = [];
  signals: AbortSignal[] = [];
  private release: Array<() => void> = [];
  /** When true, requests stay open until `releaseAll()`. */
  hold = false;
  bulkBody?: (body: Buffer, operations: number, signal?: AbortSignal) => Promise<BulkResponseItem[]>;

  constructor(
    private responder: Responder = (ops) => ops.map(() => ({ status: 201, result: "created" })),
    { encodedBodies = false }: { encodedBodies?: boolean } = {},
  ) {
    if (encodedBodies) {
      this.bulkBody = (body, operations, signal) => {
        const text = body.toString();
        expect(text.endsWith("\n")).toBe(true);
        const lines = text.slice(0, -1).split("\n");
        expect(lines).toHaveLength(operations * 2);
        return this.bulk(lines, signal);
      };
    }
  }

  setResponder(responder: Responder): void {
    this.responder = responder;
  }

  async bulk(lines: string[], signal?: AbortSignal): Promise<BulkResponseItem[]> {
    const ops: ParsedOp[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = JSON.parse(lines[i] as string) as Record<string, { _index: string; _id: string }>;
      const [action, target] = Object.entries(meta)[0] as [string, { _index: string; _id: string }];
      ops.push({ action, index: target._index, id: target._id, source: lines[i + 1] as string });
    }
    const call = this.calls.length;
    this.calls.push(ops);
    if (signal) this.signals.push(signal);
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.release.push(resolve);
        signal?.addEventListener("abort", () => reject(new SinkError("ABORTED", "aborted", { retriable: true })));
      });
    }
    const answer = await this.responder(ops, call);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  releaseAll(): void {
    const release = this.release;
    this.release = [];
    for (const r of release) r();
  }

  async ping() {
    return { status: "green" as const, clusterName: "fake", numberOfNodes: 1 };
  }
}

export function op(i: number, overrides: Partial<BulkOperation> = {}): BulkOperation {
  return { action: "index", index: "logs-test", id: `id-${i}`, document: `{"n":${i}}`, ...overrides };
}

/** A sink over `client` on a manual clock; random() near 1 turns full jitter into its ceiling (predictable delays). */
export function setupSink(options: Partial<BulkSinkOptions> = {}, client = new FakeBulkClient()) {
  const clock = new ManualClock();
  const sink = createBulkSink({ client, clock, random: () => 0.999999, ...options });
  return { sink, client, clock };
}

/** The outcome (or error) of `add()` once it settles, readable synchronously. */
export function track(promise: Promise<ItemOutcome>) {
  const state: { outcome?: ItemOutcome; error?: unknown } = {};
  promise.then(
    (outcome) => {
      state.outcome = outcome;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return state;
}

/** A whole-request failure as the clients throw it: no status = connection failed; 429/5xx retriable. */
export const requestError = (status?: number) =>
  new SinkError(status === undefined ? "CONNECTION_FAILED" : status >= 500 ? "SERVER_ERROR" : "REQUEST_REJECTED", "x", {
    retriable: status === undefined || status === 429 || status >= 500,
    ...(status === undefined ? {} : { status }),
  });

/** A logger that keeps every line. */
export function recordingLogger() {
  const lines: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
  const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    lines.push({ level, message, ...(meta ? { meta } : {}) });
  const logger: Logger = {
    ...noopLogger,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
  return { lines, logger };
}
