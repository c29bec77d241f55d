import { describe, expect, it } from "@jest/globals";
import { answerStatus } from "./http.js";
import { createStatusSource, type StatusFrame } from "./status-source.js";

const frame = (values: Record<string, number>, rows = 1): StatusFrame => ({
  values,
  charts: [{ id: "c", title: "C", unit: "/s", series: Object.keys(values).concat("absent"), detail: ["c", "gone"] }],
  sections: [
    {
      kind: "table",
      id: "t",
      title: "T",
      columns: [{ key: "k", label: "k" }],
      rows: Array.from({ length: rows }, (_, i) => ({ k: i })),
    },
  ],
});

describe("createStatusSource", () => {
  it("is a valid, empty document before the first tick", () => {
    const source = createStatusSource({ title: "x", collect: () => frame({}) });
    expect(source.document()).toEqual({
      title: "x",
      generatedAt: 0,
      intervalMs: 1000,
      windowMs: 900_000,
      charts: [],
      sections: [],
      samples: [],
    });
  });

  it("rings the samples over the window, drops non-finite values, caps values and rows", async () => {
    let now = 0;
    const source = createStatusSource({
      title: "x",
      intervalMs: 1000,
      windowMs: 3000,
      maxSeriesPerSample: 2,
      maxRowsPerTable: 2,
      clock: () => now,
      collect: (t) => frame({ a: t, bad: Number.NaN, b: 1, c: 2 }, 5),
    });
    for (now = 1000; now <= 5000; now += 1000) await source.tick();
    const doc = source.document();
    expect(doc.samples.map((s) => s.t)).toEqual([3000, 4000, 5000]);
    expect(doc.samples[2]?.v).toEqual({ a: 5000, b: 1 });
    expect(doc.charts[0]?.series).toEqual(["a", "b"]);
    expect(doc.charts[0]?.detail).toEqual([]);
    const table = doc.sections[0];
    expect(table?.kind === "table" && [table.rows.length, table.omitted]).toEqual([2, 3]);
    expect(source.document(4000).samples.map((s) => s.t)).toEqual([5000]);
  });

  it("keeps the last good view and says why when collecting fails", async () => {
    let fail = false;
    let now = 1;
    const source = createStatusSource({
      title: "x",
      clock: () => now++,
      collect: () => {
        if (fail) throw new Error("registry gone");
        return frame({ a: 1 });
      },
    });
    await source.tick();
    fail = true;
    await source.tick();
    const doc = source.document();
    expect(doc.error).toBe("registry gone");
    expect(doc.charts[0]?.series).toEqual(["a"]);
    expect(doc.samples.map((s) => s.v)).toEqual([{ a: 1 }, {}]);
  });

  it("does not overlap ticks", async () => {
    let calls = 0;
    let release: () => void = () => {};
    const source = createStatusSource({
      title: "x",
      collect: () => {
        calls++;
        return new Promise<StatusFrame>((resolve) => {
          release = () => resolve(frame({}));
        });
      },
    });
    const first = source.tick();
    const second = source.tick();
    release();
    await Promise.all([first, second]);
    expect(calls).toBe(1);
  });
});

describe("answerStatus", () => {
  const source = createStatusSource({ title: "T <&>", collect: () => frame({ a: 1 }) });

  it("serves the page self-contained, with a CSP that allows requests to its own origin only", () => {
    const page = answerStatus(source, "/status", new URLSearchParams());
    expect(page?.status).toBe(200);
    expect(page?.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(page?.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page?.body).toContain("<title>T &#60;&#38;&#62;</title>");
    expect(page?.body).toContain("uPlot");
    // No external script, stylesheet or image (the browser test also watches that no request leaves the origin).
    expect(page?.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img|url\(\s*["']?https?:/);
  });

  it("serves the data, with a clear error for a bad `since`", () => {
    const data = answerStatus(source, "/status.json", new URLSearchParams("since=5"));
    expect(data?.status).toBe(200);
    expect(JSON.parse(data?.body ?? "")).toMatchObject({ title: "T <&>", samples: [] });
    const bad = answerStatus(source, "/status.json", new URLSearchParams("since=yesterday"));
    expect(bad?.status).toBe(400);
    expect(JSON.parse(bad?.body ?? "")).toEqual({
      code: "INVALID_ARGUMENT",
      field: "since",
      message: "since must be a Unix time in milliseconds (digits only)",
    });
    expect(answerStatus(source, "/other", new URLSearchParams())).toBeUndefined();
  });
});
