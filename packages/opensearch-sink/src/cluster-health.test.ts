import { describe, expect, it } from "@jest/globals";
import { clusterHealthOf } from "./cluster-health.js";

describe("clusterHealthOf", () => {
  it("reads status, name, node count and the active shards' share", () => {
    const body = {
      status: "yellow",
      cluster_name: "logs",
      number_of_nodes: 3,
      active_shards_percent_as_number: 66.7,
      unassigned_shards: 4,
    };
    expect(clusterHealthOf(body)).toEqual({
      status: "yellow",
      clusterName: "logs",
      numberOfNodes: 3,
      activeShardsPercent: 66.7,
    });
    expect(clusterHealthOf({ status: "green" })).toEqual({ status: "green", clusterName: "", numberOfNodes: 0 });
  });

  it("is null for anything that is not a health answer", () => {
    for (const body of [undefined, null, "green", 42, [], {}, { status: "blue" }, { status: ["green"] }]) {
      expect(clusterHealthOf(body)).toBeNull();
    }
  });
});
