import { describe, expect, it } from "@jest/globals";
import { inFamilies, parseExposition, sumBy, sumValues, total } from "./exposition.js";

const text = `# HELP requests Requests
# TYPE requests counter
requests{route="a",status="200"} 3
requests{route="a",status="500"} 1
requests{route="b\\"q\\\\x,y",status="200"} 2 1700000000000
gauge 4.5
gauge_nan NaN
gauge_inf +Inf
broken{route="a" 3
broken_value{a="b"} abc
hist_bucket{le="+Inf"} 7
`;

describe("parseExposition", () => {
  it("reads names, labels (with escapes) and values, and skips comments and malformed lines", () => {
    const samples = parseExposition(text);
    expect(samples).toEqual([
      { name: "requests", labels: { route: "a", status: "200" }, value: 3 },
      { name: "requests", labels: { route: "a", status: "500" }, value: 1 },
      { name: "requests", labels: { route: 'b"q\\x,y', status: "200" }, value: 2 },
      { name: "gauge", labels: {}, value: 4.5 },
      { name: "gauge_nan", labels: {}, value: Number.NaN },
      { name: "gauge_inf", labels: {}, value: Number.POSITIVE_INFINITY },
      { name: "hist_bucket", labels: { le: "+Inf" }, value: 7 },
    ]);
  });

  it("keeps only the names asked for", () => {
    expect(parseExposition(text, (name) => name === "gauge").map((s) => s.name)).toEqual(["gauge"]);
  });

  it("keeps a family's series, a histogram's suffixed ones too, with inFamilies", () => {
    const names = parseExposition(text, inFamilies(["hist", "gauge_inf"])).map((s) => s.name);
    expect(names).toEqual(["gauge_inf", "hist_bucket"]);
    expect(parseExposition(text, inFamilies([]))).toEqual([]);
  });

  it("never throws on garbage", () => {
    for (const junk of ["", "{", "}", "x{", 'x{a="', "x{a=1} 2", "x 1 2 3", "\u0000", " ".repeat(10)]) {
      expect(() => parseExposition(junk)).not.toThrow();
    }
    expect(parseExposition('x{a=1} 2\ny{a="1"} 2')).toEqual([{ name: "y", labels: { a: "1" }, value: 2 }]);
  });
});

describe("sumBy, total and sumValues", () => {
  const samples = parseExposition(text);
  it("groups by label values, missing labels as empty, and skips non-finite values", () => {
    expect([...sumBy(samples, "requests", ["status"])]).toEqual([
      ["200", 5],
      ["500", 1],
    ]);
    expect([...sumBy(samples, "requests", ["route", "missing"], (l) => l.status === "200")]).toEqual([
      ["a / ", 3],
      ['b"q\\x,y / ', 2],
    ]);
    expect(total(samples, "requests")).toBe(6);
    expect(total(samples, "gauge_nan")).toBe(0);
    expect(total(samples, "absent")).toBe(0);
    expect(sumValues(sumBy(samples, "requests", ["route"]))).toBe(6);
    expect(sumValues(new Map())).toBe(0);
  });
});
