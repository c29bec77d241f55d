import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { parseExposition } from "../exposition.js";
import { arbitraryExpositions, documentAfterTicks } from "./collector.js";

describe("arbitraryExpositions", () => {
  it("prints only the families and labels asked for, one to four ticks of up to eight lines", () => {
    fc.assert(
      fc.property(arbitraryExpositions(["a_total", "b"], ["topic"]), (texts) => {
        expect(texts.length).toBeGreaterThanOrEqual(1);
        expect(texts.length).toBeLessThanOrEqual(4);
        for (const text of texts) {
          const lines = text === "" ? [] : text.split("\n");
          expect(lines.length).toBeLessThanOrEqual(8);
          for (const line of lines) expect(line).toMatch(/^(a_total|b)\{(topic=".*")?/);
          for (const sample of parseExposition(text)) {
            for (const key of Object.keys(sample.labels)) expect(key).toBe("topic");
          }
        }
      }),
    );
  });
});

describe("documentAfterTicks", () => {
  it("ticks once a second, the collector reading the exposition of its tick", async () => {
    const read: string[] = [];
    const doc = await documentAfterTicks(["x 1", "x 2", "x 3"], (readExposition) => async (now) => {
      const text = await readExposition();
      read.push(text);
      return { values: { x: parseExposition(text)[0]?.value ?? 0, now }, charts: [], sections: [] };
    });
    expect(read).toEqual(["x 1", "x 2", "x 3"]);
    expect(doc.samples).toEqual([
      { t: 0, v: { x: 1, now: 0 } },
      { t: 1000, v: { x: 2, now: 1000 } },
      { t: 2000, v: { x: 3, now: 2000 } },
    ]);
    expect(doc.error).toBeUndefined();
  });

  it("reports what a collector threw in the document", async () => {
    const doc = await documentAfterTicks(["boom"], (readExposition) => async () => {
      throw new Error(await readExposition());
    });
    expect(doc.error).toBe("boom");
  });
});
