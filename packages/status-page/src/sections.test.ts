import { describe, expect, it } from "@jest/globals";
import { numberCard, numberColumn, problemCard, roundCell, secondsCard, tableSection, textColumn } from "./sections.js";

describe("columns and tables", () => {
  it("heads a column with its key unless a label is given, and marks number columns numeric", () => {
    expect(textColumn("topic")).toEqual({ key: "topic", label: "topic" });
    expect(numberColumn("perSecond", "/s")).toEqual({ key: "perSecond", label: "/s", numeric: true });
  });

  it("builds a table section in the order the page's JSON has always had, `empty` only when given", () => {
    const rows = [{ topic: "a", logs: 3 }];
    const table = tableSection({
      id: "apps",
      title: "Apps",
      columns: [textColumn("topic"), numberColumn("logs")],
      rows,
      empty: "none yet",
    });
    expect(JSON.stringify(table)).toBe(
      '{"kind":"table","id":"apps","title":"Apps","columns":[{"key":"topic","label":"topic"},' +
        '{"key":"logs","label":"logs","numeric":true}],"rows":[{"topic":"a","logs":3}],"empty":"none yet"}',
    );
    expect(Object.keys(tableSection({ id: "t", title: "T", columns: [], rows: [] }))).not.toContain("empty");
  });
});

describe("cards", () => {
  it("formats numbers and durations", () => {
    expect(numberCard("logs/s", 2.345)).toEqual({ label: "logs/s", value: "2.35" });
    expect(numberCard("lag", undefined)).toEqual({ label: "lag", value: "–" });
    expect(secondsCard("p99", 0.0032)).toEqual({ label: "p99", value: "3.2 ms" });
  });

  it("warns about a problem count only above zero", () => {
    expect(problemCard("errors/s", 0)).toEqual({ label: "errors/s", value: "0", tone: "ok" });
    expect(problemCard("errors/s", 0.5)).toEqual({ label: "errors/s", value: "0.5", tone: "warn" });
  });
});

describe("roundCell", () => {
  it("keeps two decimals and turns what is not finite into 0", () => {
    expect(roundCell(2 / 3)).toBe(0.67);
    expect(roundCell(40)).toBe(40);
    expect(roundCell(Number.NaN)).toBe(0);
    expect(roundCell(Number.POSITIVE_INFINITY)).toBe(0);
  });
});
