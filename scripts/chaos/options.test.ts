// `pnpm chaos --cluster` options: the cluster's defaults, overridable in any order, and its own fault kinds.
import { describe, expect, it } from "@jest/globals";
import { CLUSTER_FAULT_KINDS, parseOptions } from "./options.ts";
import { planFaults } from "./plan.ts";

describe("parseOptions --cluster", () => {
  it("defaults to 1M logs paced at 5000/s with every cluster fault, in the cluster's own directory", () => {
    const options = parseOptions(["--cluster"], "/repo");
    expect(options).toMatchObject({
      cluster: true,
      logs: 1_000_000,
      rate: 5_000,
      concurrency: 32,
      faults: [...CLUSTER_FAULT_KINDS],
      stackDir: "/repo/.chaos/cluster",
    });
  });

  it("--ci is the CI size, and flags before --cluster still override its defaults", () => {
    const options = parseOptions(["--logs", "500", "--cluster", "--ci"], "/repo");
    expect(options).toMatchObject({
      logs: 500,
      rate: 1_000,
      faults: ["leader-kill", "opensearch-stop", "producers-rolling"],
    });
  });

  it("takes cluster fault kinds and sizing replicas", () => {
    const options = parseOptions(
      ["--cluster", "--faults", "two-brokers-down,consumers-scale-up", "--producers", "2", "--one-partition"],
      "/repo",
    );
    expect(options).toMatchObject({
      faults: ["two-brokers-down", "consumers-scale-up"],
      producers: 2,
      onePartition: true,
    });
  });

  it("leaves the single-node run as it was", () => {
    expect(parseOptions([], "/repo")).toMatchObject({ cluster: false, logs: 200_000, rate: undefined });
  });
});

describe("planFaults for the cluster", () => {
  it("holds two brokers down 15 s, a killed search node 10 s, and gives a rolling restart of the brokers the longest slot", () => {
    const plan = planFaults(parseOptions(["--cluster"], "/repo"));
    expect(plan.holdOf("two-brokers-down")).toBe(15);
    expect(plan.holdOf("opensearch-kill")).toBe(10);
    expect(plan.holdOf("opensearch-stop")).toBe(30);
    const slot = (k: number) => plan.plannedAt(k + 1) - plan.plannedAt(k);
    const rolling = CLUSTER_FAULT_KINDS.indexOf("brokers-rolling");
    for (let k = 0; k < CLUSTER_FAULT_KINDS.length - 1; k++) expect(slot(rolling)).toBeGreaterThanOrEqual(slot(k));
  });
});
