import { describe, expect, it } from "@jest/globals";
import { containerMemoryLimit } from "./container-memory.js";

describe("containerMemoryLimit()", () => {
  const files = (entries: Record<string, string>) => (path: string) => {
    const text = entries[path];
    if (text === undefined) throw new Error("ENOENT");
    return text;
  };
  it("reads cgroup v2", () => {
    expect(containerMemoryLimit(files({ "/sys/fs/cgroup/memory.max": "536870912\n" }))).toBe(536_870_912);
  });
  it("is undefined for an unlimited cgroup v2 or v1, or no cgroup", () => {
    expect(containerMemoryLimit(files({ "/sys/fs/cgroup/memory.max": "max\n" }))).toBeUndefined();
    expect(
      containerMemoryLimit(files({ "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n" })),
    ).toBeUndefined();
    expect(containerMemoryLimit(files({}))).toBeUndefined();
  });
  it("reads cgroup v1", () => {
    expect(containerMemoryLimit(files({ "/sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456" }))).toBe(
      268_435_456,
    );
  });
});
