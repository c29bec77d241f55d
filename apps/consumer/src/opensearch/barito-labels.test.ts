import { describe, expect, it } from "@jest/globals";
import { baritoErrorLabel, baritoIndexLabel } from "./barito-labels.js";

describe("baritoErrorLabel()", () => {
  it.each([
    ["failed to parse field [n] of type [long] in document with id '1'", "mapping_failed"],
    ["the final mapping would have more than 1 type: [_doc, log]", "multiple_type"],
    ["[parent] Data too large, data for [<http_request>] would be", "data_too_large"],
    ["Limit of total fields [1000] has been exceeded", "limit_of_total_fields_excedeed"],
    ["index [x] blocked by: [FORBIDDEN/8/index read-only (api)];", "index_read_only"],
    ["something brand new", "undefined_error"],
    ["object mapping for [a] tried to parse", "mapping_failed"],
  ])("labels %j as %s", (reason, label) => {
    expect(baritoErrorLabel(reason)).toBe(label);
  });

  it("falls back to the cause when the reason itself is not recognised", () => {
    expect(baritoErrorLabel("bulk failed; caused by: primary shard is not active Timeout")).toBe(
      "inactive_primary_shard",
    );
  });

  it("returns an empty label when there is no reason", () => {
    expect(baritoErrorLabel(undefined)).toBe("");
    expect(baritoErrorLabel("")).toBe("");
  });

  it("strips the daily suffix from index labels", () => {
    expect(baritoIndexLabel("app-logs-2026.11.22")).toBe("app-logs");
    expect(baritoIndexLabel("app-logs")).toBe("app-logs");
  });
});
