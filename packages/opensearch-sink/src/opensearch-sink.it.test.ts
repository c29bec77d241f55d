import { randomUUID } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Client } from "@opensearch-project/opensearch";
import { createBulkSink } from "./bulk-sink.js";
import { SinkError } from "./errors.js";
import { ensureIndexTemplate, type IndexTemplateOptions } from "./index-template.js";
import { createOpenSearchBulkClient } from "./opensearch-bulk-client.js";
import { createOpenSearchClient } from "./opensearch-client.js";
import type { BulkSink, FlushStats } from "./types.js";

const OPENSEARCH_URL = process.env.OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
const name = (suffix: string) => `sink-it-${run}-${suffix}`;

const fastRetry = { minDelayMs: 20, maxDelayMs: 200 };

let client: Client;
const indices: string[] = [];
const dataStreams: string[] = [];
const indexTemplates: string[] = [];
const componentTemplates: string[] = [];
const sinks: BulkSink[] = [];

function sinkFor(target: Client, extra: Partial<Parameters<typeof createBulkSink>[0]> = {}) {
  const sink = createBulkSink({
    client: createOpenSearchBulkClient(target),
    maxDocs: 50,
    flushIntervalMs: 50,
    retry: fastRetry,
    ...extra,
  });
  sinks.push(sink);
  return sink;
}

async function refreshAndCount(index: string): Promise<number> {
  await client.transport.request({ method: "POST", path: `/${index}/_refresh` });
  const { body } = await client.transport.request({ method: "GET", path: `/${index}/_count` });
  return (body as { count: number }).count;
}

/** A port on loopback where nothing listens (yet). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Plain TCP forwarder to the real OpenSearch, so "the cluster comes back" can happen on a fixed address. */
async function startForwarder(port: number, target: URL): Promise<() => Promise<void>> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port || 80), target.hostname);
    sockets.add(inbound);
    sockets.add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const cleanup = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on("error", cleanup).on("close", cleanup);
    outbound.on("error", cleanup).on("close", cleanup);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

beforeAll(async () => {
  client = createOpenSearchClient({ nodes: [OPENSEARCH_URL], requestTimeoutMs: 10_000 });
  const health = await createOpenSearchBulkClient(client).ping();
  if (!health) throw new Error(`OpenSearch is not reachable at ${OPENSEARCH_URL}; start the stack (pnpm stack up)`);
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close({ timeoutMs: 1_000 })));
  const cleanup = async (path: string) => {
    await client.transport.request({ method: "DELETE", path }, { ignore: [404] }).catch(() => undefined);
  };
  for (const stream of dataStreams) await cleanup(`/_data_stream/${stream}`);
  for (const template of indexTemplates) await cleanup(`/_index_template/${template}`);
  for (const component of componentTemplates) await cleanup(`/_component_template/${component}`);
  for (const index of indices) await cleanup(`/${index}`);
  await client.close();
});

/** A data stream over `prefix` composed of `component`, above the built-in `logs-*-*` templates. */
function dataStreamTemplate(prefix: string, component: string): IndexTemplateOptions {
  return {
    name: `${prefix}-template`,
    indexPatterns: [prefix],
    dataStream: true,
    composedOf: [component],
    priority: 200,
  };
}

describe("OpenSearch bulk sink (real OpenSearch)", () => {
  it("bulk-indexes documents that can be searched back, keeping pre-serialised JSON as sent", async () => {
    const index = name("basic");
    indices.push(index);
    const flushes: FlushStats[] = [];
    const sink = sinkFor(client, { onFlush: (s) => flushes.push(s) });
    const outcomes = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        sink.add({
          action: "index",
          index,
          id: `doc-${i}`,
          document: `{"@timestamp":"2026-11-22T10:00:00Z","message":"line ${i}","seq":${i}}`,
        }),
      ),
    );
    expect(outcomes.every((o) => o.status === "indexed" && o.httpStatus === 201)).toBe(true);
    expect(await refreshAndCount(index)).toBe(120);
    const { body } = await client.transport.request({
      method: "POST",
      path: `/${index}/_search`,
      body: { query: { term: { seq: 77 } } },
    });
    const hits = (body as { hits: { hits: Array<{ _id: string; _source: Record<string, unknown> }> } }).hits.hits;
    expect(hits).toHaveLength(1);
    expect(hits[0]?._id).toBe("doc-77");
    expect(hits[0]?._source).toEqual({ "@timestamp": "2026-11-22T10:00:00Z", message: "line 77", seq: 77 });
    expect(sink.stats()).toMatchObject({ indexed: 120, rejected: 0, pending: 0 });
    expect(flushes.length).toBeGreaterThanOrEqual(3); // maxDocs 50 -> at least 50 + 50 + 20
    expect(flushes.every((f) => f.ok && f.docs <= 50)).toBe(true);
  });

  it("overwrites documents with deterministic ids instead of duplicating them", async () => {
    const index = name("idempotent");
    indices.push(index);
    const sink = sinkFor(client);
    const write = (round: number) =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sink.add({ action: "index", index, id: `topic-0-${i}`, document: { round, offset: i } }),
        ),
      );
    await write(1);
    const replay = await write(2);
    expect(replay.every((o) => o.status === "indexed" && o.httpStatus === 200)).toBe(true);
    expect(replay[0]).toMatchObject({ result: "updated" });
    expect(await refreshAndCount(index)).toBe(10);
  });

  it("reports create on an existing id as duplicate", async () => {
    const index = name("create");
    indices.push(index);
    const sink = sinkFor(client);
    const first = await sink.add({ action: "create", index, id: "event-1", document: { v: 1 } });
    const second = await sink.add({ action: "create", index, id: "event-1", document: { v: 2 } });
    expect(first).toMatchObject({ status: "indexed", httpStatus: 201 });
    expect(second).toEqual({ status: "duplicate", httpStatus: 409 });
    expect(sink.stats()).toMatchObject({ indexed: 1, duplicates: 1 });
  });

  it("rejects a mapping conflict with its reason while the other documents of the same bulk are indexed", async () => {
    const index = name("mapping");
    indices.push(index);
    await client.transport.request({
      method: "PUT",
      path: `/${index}`,
      body: { mappings: { properties: { status_code: { type: "long" } } } },
    });
    const sink = sinkFor(client, { maxDocs: 3, flushIntervalMs: 10_000 });
    const [good1, bad, good2] = await Promise.all([
      sink.add({ action: "index", index, id: "a", document: { status_code: 200 } }),
      sink.add({ action: "index", index, id: "b", document: { status_code: "not-a-number" } }),
      sink.add({ action: "index", index, id: "c", document: { status_code: 404 } }),
    ]);
    expect(good1.status).toBe("indexed");
    expect(good2.status).toBe("indexed");
    expect(bad).toMatchObject({ status: "rejected", httpStatus: 400, errorType: "mapper_parsing_exception" });
    expect(bad.status === "rejected" && bad.reason).toMatch(/status_code/);
    expect(sink.stats()).toMatchObject({ bulkRequests: 1, indexed: 2, rejected: 1, retriedItems: 0 });
    expect(await refreshAndCount(index)).toBe(2);
  });

  it("retries only the items refused with 429 (read-only-allow-delete block) until the block is lifted", async () => {
    const blocked = name("blocked");
    const open = name("open");
    indices.push(blocked, open);
    await client.transport.request({ method: "PUT", path: `/${blocked}` });
    await client.transport.request({
      method: "PUT",
      path: `/${blocked}/_settings`,
      body: { "index.blocks.read_only_allow_delete": true },
    });
    const flushes: FlushStats[] = [];
    const sink = sinkFor(client, { maxDocs: 6, flushIntervalMs: 10_000, onFlush: (s) => flushes.push(s) });
    const toBlocked = [0, 1].map((i) => sink.add({ action: "index", index: blocked, id: `b-${i}`, document: { i } }));
    const toOpen = [0, 1, 2, 3].map((i) => sink.add({ action: "index", index: open, id: `o-${i}`, document: { i } }));
    const openOutcomes = await Promise.all(toOpen);
    expect(openOutcomes.every((o) => o.status === "indexed")).toBe(true);
    expect(flushes[0]).toMatchObject({ docs: 6, indexed: 4, retried: 2 });

    // Let a few retries fail, then lift the block: the waiting items must go through without being re-added.
    const deadline = Date.now() + 10_000;
    while (sink.stats().retriedItems < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sink.stats().pending).toBe(2);
    await client.transport.request({
      method: "PUT",
      path: `/${blocked}/_settings`,
      body: { "index.blocks.read_only_allow_delete": null },
    });
    const blockedOutcomes = await Promise.all(toBlocked);
    expect(blockedOutcomes.every((o) => o.status === "indexed")).toBe(true);
    // every request after the first carried only the two blocked documents
    expect(flushes.slice(1).every((f) => f.docs === 2)).toBe(true);
    expect(await refreshAndCount(blocked)).toBe(2);
    expect(await refreshAndCount(open)).toBe(4);
  });

  it("creates a data stream template (and a missing component template) and writes into the data stream", async () => {
    const prefix = name("stream");
    const component = name("component");
    const options = dataStreamTemplate(prefix, component);
    dataStreams.push(prefix);
    indexTemplates.push(options.name);
    componentTemplates.push(component);

    const first = await ensureIndexTemplate(client, options);
    expect(first.createdComponentTemplates).toEqual([component]);
    const again = await ensureIndexTemplate(client, options);
    expect(again.createdComponentTemplates).toEqual([]);

    const { body: templates } = await client.transport.request({
      method: "GET",
      path: `/_index_template/${options.name}`,
    });
    const template = (templates as { index_templates: Array<{ index_template: Record<string, unknown> }> })
      .index_templates[0]?.index_template;
    expect(template).toMatchObject({ index_patterns: [prefix], composed_of: [component], priority: 200 });

    const sink = sinkFor(client);
    const outcomes = await Promise.all(
      [1, 2, 3].map((i) =>
        sink.add({
          action: "create",
          index: prefix,
          id: `ev-${i}`,
          document: { "@timestamp": "2026-11-22T00:00:00Z", i },
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["indexed", "indexed", "indexed"]);
    const { body: streams } = await client.transport.request({ method: "GET", path: `/_data_stream/${prefix}` });
    expect((streams as { data_streams: Array<{ name: string }> }).data_streams[0]?.name).toBe(prefix);
    expect(await refreshAndCount(prefix)).toBe(3);
  });

  it("rejects invalid template options with a field path", async () => {
    await expect(
      ensureIndexTemplate(client, { ...dataStreamTemplate("ok", "ok"), indexPatterns: [] }),
    ).rejects.toMatchObject({ code: "INVALID_OPERATION", field: "indexPatterns" });
  });

  it("keeps retrying while OpenSearch is unreachable and delivers everything once it is back", async () => {
    const index = name("recovery");
    indices.push(index);
    const port = await freePort();
    const target = new URL(OPENSEARCH_URL);
    const unreachable = createOpenSearchClient({ nodes: [`http://127.0.0.1:${port}`], requestTimeoutMs: 2_000 });
    const bulkClient = createOpenSearchBulkClient(unreachable);
    expect(await bulkClient.ping()).toBeNull();

    const sink = createBulkSink({ client: bulkClient, maxDocs: 10, flushIntervalMs: 20, retry: fastRetry });
    sinks.push(sink);
    const outcomes = Promise.all(
      Array.from({ length: 25 }, (_, i) => sink.add({ action: "index", index, id: `r-${i}`, document: { i } })),
    );
    const deadline = Date.now() + 10_000;
    while (sink.health().state !== "degraded" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sink.health()).toMatchObject({ state: "degraded", lastErrorCode: "CONNECTION_FAILED" });
    expect(sink.stats().indexed).toBe(0);

    const stopForwarder = await startForwarder(port, target);
    try {
      const results = await outcomes;
      expect(results.every((o) => o.status === "indexed")).toBe(true);
      expect(sink.health().state).toBe("ok");
      expect(sink.stats().retriedRequests).toBeGreaterThanOrEqual(3);
      expect(await refreshAndCount(index)).toBe(25);
      await sink.close({ timeoutMs: 1_000 });
    } finally {
      await unreachable.close();
      await stopForwarder();
    }
  });

  it("reports a request-level 400 from the server as a non-retriable SinkError", async () => {
    // An action line without _index is refused for the whole request ("index is missing").
    const error = await createOpenSearchBulkClient(client)
      .bulk(['{"index":{"_id":"1"}}', '{"a":1}'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ code: "REQUEST_REJECTED", retriable: false, status: 400 });
  });

  it("turns a refused connection into a retriable SinkError at the adapter", async () => {
    const port = await freePort();
    const unreachable = createOpenSearchClient({ nodes: [`http://user:s3cret@127.0.0.1:${port}`] });
    try {
      const error = await createOpenSearchBulkClient(unreachable)
        .bulk(['{"index":{"_index":"x","_id":"1"}}', "{}"])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SinkError);
      expect(error).toMatchObject({ code: "CONNECTION_FAILED", retriable: true });
      expect(JSON.stringify(error) + String((error as Error).message)).not.toContain("s3cret");
    } finally {
      await unreachable.close();
    }
  });
});
