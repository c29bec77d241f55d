import { describe, expect, it } from "@jest/globals";
import { baritoDataStreamTemplate } from "./data-stream-template.js";

describe("baritoDataStreamTemplate()", () => {
  it("names the template after the prefix and makes the prefix a data stream at priority 200", () => {
    expect(baritoDataStreamTemplate("app-logs", "barito-shared")).toEqual({
      name: "app-logs-template",
      indexPatterns: ["app-logs"],
      dataStream: true,
      composedOf: ["barito-shared"],
      priority: 200,
      description: "default template",
    });
  });

  it("composes of nothing when no component template is configured", () => {
    expect(baritoDataStreamTemplate("app-logs", "").composedOf).toEqual([]);
  });
});
