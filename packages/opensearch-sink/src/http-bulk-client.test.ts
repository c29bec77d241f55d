// The sink's own HTTP bulk client against local HTTP servers playing OpenSearch: what goes on the wire, how
// answers are read, and the same SinkError codes as the opensearch-js based client.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { createHttpBulkClient, type HttpBulkClient, parsedItems, scanErrorlessItems } from "./http-bulk-client.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

type Handler = (seen: Seen, res: ServerResponse) => void;

let handler: Handler = (_seen, res) => res.end("{}");
const seen: Seen[] = [];
let server: Server;
let base = "";
const clients: HttpBulkClient[] = [];

function client(options: Partial<Parameters<typeof createHttpBulkClient>[0]> = {}): HttpBulkClient {
  const created = createHttpBulkClient({ nodes: [base], compression: false, ...options });
  clients.push(created);
  return created;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const twoLines = ['{"index":{"_index":"a","_id":"1"}}', '{"n":1}'];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const entry = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const created of clients.splice(0)) created.close();
  seen.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("createHttpBulkClient()", () => {
  it("posts the NDJSON body to _bulk with a slim filter_path and basic auth, reading an errors:false answer", async () => {
    handler = (_seen, res) =>
      json(res, 200, { errors: false, items: [{ index: { status: 201 } }, { create: { status: 200 } }] });
    const lines = [...twoLines, '{"create":{"_index":"a","_id":"2"}}', '{"s":"é"}'];
    const items = await client({ username: "barito", password: "s3cret" }).bulk(lines);
    expect(items).toEqual([
      { status: 201, result: "created" },
      { status: 200, result: "updated" },
    ]);
    const request = seen[0] as Seen;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/_bulk?filter_path=errors,items.*.status,items.*.error");
    expect(request.headers["content-type"]).toBe("application/x-ndjson");
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from("barito:s3cret").toString("base64")}`);
    expect(request.body.toString()).toBe(`${lines.join("\n")}\n`);
  });

  it("takes credentials and a path prefix from the node URL, and gzips bodies when asked", async () => {
    handler = (_seen, res) => json(res, 200, { errors: false, items: [{ index: { status: 201 } }] });
    const url = new URL(base);
    const items = await client({ nodes: [`http://u%40x:p%3Aw@${url.host}/es/`], compression: true }).bulkBody(
      Buffer.from(`${twoLines.join("\n")}\n`),
      1,
    );
    expect(items).toEqual([{ status: 201, result: "created" }]);
    const request = seen[0] as Seen;
    expect(request.url.startsWith("/es/_bulk?")).toBe(true);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from("u@x:p:w").toString("base64")}`);
    expect(request.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(request.body).toString()).toBe(`${twoLines.join("\n")}\n`);
  });

  it("parses answers with errors and keeps the item errors, in order", async () => {
    const error = { type: "mapper_parsing_exception", reason: "bad", caused_by: { type: "x", reason: "why" } };
    handler = (_seen, res) =>
      json(res, 200, { errors: true, items: [{ index: { status: 400, error } }, { index: { status: 201 } }] });
    const items = await client().bulk([...twoLines, ...twoLines]);
    expect(items).toEqual([
      { status: 400, error },
      { status: 201, result: "created" },
    ]);
  });

  it("classifies whole-request failures like the opensearch-js client", async () => {
    const answers: Array<[number, unknown, string, boolean]> = [
      [
        429,
        { error: { type: "es_rejected_execution_exception", reason: "queue full" }, status: 429 },
        "TOO_MANY_REQUESTS",
        true,
      ],
      [503, { error: { type: "unavailable", reason: "down" } }, "SERVER_ERROR", true],
      [401, { error: "unauthorized" }, "AUTH_FAILED", true],
      [400, { error: { type: "illegal_argument_exception", reason: "nope" } }, "REQUEST_REJECTED", false],
      [413, "too large", "REQUEST_REJECTED", false],
    ];
    for (const [status, body, code, retriable] of answers) {
      handler = (_seen, res) => json(res, status, body);
      const error = await client()
        .bulk(twoLines)
        .catch((err: unknown) => err);
      expect(error).toMatchObject({ code, retriable, status });
    }
    handler = (_seen, res) => json(res, 400, { error: { type: "illegal_argument_exception", reason: "nope" } });
    await expect(client().bulk(twoLines)).rejects.toMatchObject({
      errorType: "illegal_argument_exception",
      message: "bulk request failed with HTTP 400: nope",
    });
  });

  it("reports unreachable nodes, timeouts, aborts, cut answers and item count mismatches as retriable", async () => {
    await expect(client({ nodes: ["http://127.0.0.1:9"] }).bulk(twoLines)).rejects.toMatchObject({
      code: "CONNECTION_FAILED",
      retriable: true,
    });
    handler = () => {}; // never answers
    await expect(client({ requestTimeoutMs: 100 }).bulk(twoLines)).rejects.toMatchObject({
      code: "TIMEOUT",
      retriable: true,
    });
    const controller = new AbortController();
    const pending = client().bulk(twoLines, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: "ABORTED", retriable: true });
    handler = (_seen, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"errors":false');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    await expect(client().bulk(twoLines)).rejects.toMatchObject({ code: "CONNECTION_FAILED", retriable: true });
    handler = (_seen, res) => json(res, 200, { errors: false, items: [] });
    await expect(client().bulk(twoLines)).rejects.toMatchObject({ code: "BAD_RESPONSE", retriable: true });
    handler = (_seen, res) => json(res, 200, "not json");
    await expect(client().bulk(twoLines)).rejects.toMatchObject({ code: "BAD_RESPONSE", retriable: true });
    await expect(client().bulk([])).rejects.toMatchObject({ code: "INVALID_OPERATION", retriable: false });
  });

  it("moves on to the next node when one cannot be reached", async () => {
    handler = (_seen, res) => json(res, 200, { errors: false, items: [{ index: { status: 201 } }] });
    const twoNodes = client({ nodes: ["http://127.0.0.1:9", base] });
    await expect(twoNodes.bulk(twoLines)).rejects.toMatchObject({ code: "CONNECTION_FAILED" });
    // The refused node waits out its pause: the next requests all go to the other one.
    for (let i = 0; i < 3; i++) await expect(twoNodes.bulk(twoLines)).resolves.toHaveLength(1);
    expect(seen).toHaveLength(3);
  });

  it("sends to the nodes setNodes gives it (service discovery), and ignores an empty list", async () => {
    handler = (_seen, res) => json(res, 200, { errors: false, items: [{ index: { status: 201 } }] });
    const moved = client({ nodes: ["http://127.0.0.1:9"] });
    await expect(moved.bulk(twoLines)).rejects.toMatchObject({ code: "CONNECTION_FAILED" });
    moved.setNodes([base]);
    moved.setNodes([]);
    await expect(moved.bulk(twoLines)).resolves.toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  it("pings the cluster health, null when it cannot", async () => {
    handler = (_seen, res) =>
      json(res, 200, { cluster_name: "c", status: "yellow", number_of_nodes: 3, active_shards_percent_as_number: 50 });
    expect(await client().ping()).toEqual({
      status: "yellow",
      clusterName: "c",
      numberOfNodes: 3,
      activeShardsPercent: 50,
    });
    expect(seen[0]?.url).toBe("/_cluster/health");
    handler = (_seen, res) => json(res, 500, {});
    expect(await client().ping()).toBeNull();
    expect(await client({ nodes: ["http://127.0.0.1:9"] }).ping()).toBeNull();
  });
});

describe("reading bulk answers", () => {
  const scan = (text: string, expected: number) => scanErrorlessItems(Buffer.from(text), expected);

  it("reads errors:false answers from their bytes, the same items as a parse", () => {
    const text =
      '{"errors":false,"items":[{"index":{"status":201}},{"create":{"status":201}},{"index":{"status":200}}]}';
    const items = [
      { status: 201, result: "created" },
      { status: 201, result: "created" },
      { status: 200, result: "updated" },
    ];
    expect(scan(text, 3)).toEqual(items);
    expect(parsedItems(JSON.parse(text), 3)).toEqual(items);
    expect(() => scan(text, 4)).toThrow(expect.objectContaining({ code: "BAD_RESPONSE" }));
    expect(() => scan(text, 2)).not.toThrow();
    expect(scan(text, 2)).toBeUndefined();
  });

  it("leaves anything unusual to the JSON parse", () => {
    for (const text of [
      '{"errors":true,"items":[{"index":{"status":201}}]}',
      '{"took":1,"errors":false,"items":[{"index":{"status":201}}]}',
      '{"errors":false,"items":[{"index":{"status":201,"result":"created"}}]}',
      '{"errors":false,"items":[{"index":{"status":201}}] }',
      '{"errors":false,"items":[{"index":{"status":2011}}]}',
      '{"errors":false,"items":[{"index":{"status":201}}',
      '{"errors":false, "items":[{"index":{"status":201}}]}',
    ]) {
      expect([text, scan(text, 1)]).toEqual([text, undefined]);
    }
  });
});
