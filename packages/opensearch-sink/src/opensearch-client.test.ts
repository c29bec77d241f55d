import { describe, expect, it } from "@jest/globals";
import { createOpenSearchClient } from "./opensearch-client.js";

describe("createOpenSearchClient()", () => {
  it("rejects bad configuration with the field path and without echoing secrets", () => {
    const cases: Array<[Parameters<typeof createOpenSearchClient>[0], string]> = [
      [{ nodes: [] }, "nodes"],
      [{ nodes: ["not a url"] }, "nodes[0]"],
      [{ nodes: ["http://a:9200", "ftp://b"] }, "nodes[1]"],
      [{ nodes: ["http://a:9200"], username: "elastic" }, "password"],
      [{ nodes: ["http://a:9200"], requestTimeoutMs: 0 }, "requestTimeoutMs"],
      [{ nodes: ["http://a:9200"], tls: { ca: "/nonexistent/ca.pem" } }, "tls.ca"],
      [{ nodes: ["http://a:9200"], tls: { cert: "-----BEGIN CERTIFICATE-----" } }, "tls.key"],
    ];
    for (const [options, field] of cases) {
      expect(() => createOpenSearchClient(options)).toThrow(expect.objectContaining({ code: "INVALID_CONFIG", field }));
    }
    // Outside any catch: if this call stopped throwing, the test fails instead of checking nothing.
    expect(() =>
      createOpenSearchClient({ nodes: ["http://a:9200"], username: "u", password: "p4ss", tls: { ca: "/nope" } }),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_CONFIG",
        field: "tls.ca",
        message: expect.not.stringContaining("p4ss"),
      }),
    );
  });

  it("disables transport retries and compresses request bodies by default", async () => {
    const client = createOpenSearchClient({ nodes: ["http://127.0.0.1:9"] });
    const transport = client.transport as unknown as { maxRetries: number; compression: string | false };
    expect(transport.maxRetries).toBe(0);
    expect(transport.compression).toBe("gzip");
    const plain = createOpenSearchClient({ nodes: ["http://127.0.0.1:9"], compression: false });
    expect((plain.transport as unknown as { compression: string | false }).compression).toBe(false);
    await Promise.all([client.close(), plain.close()]);
  });
});
