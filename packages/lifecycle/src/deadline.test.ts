import { describe, expect, it } from "@jest/globals";
import { withDeadline } from "./deadline.js";

describe("withDeadline", () => {
  it("gives the work's value when it settles in time", async () => {
    expect(await withDeadline(Promise.resolve(7), 1_000)).toBe(7);
  });
  it("gives undefined when the deadline passes first", async () => {
    expect(await withDeadline(new Promise(() => {}), 10)).toBeUndefined();
  });
  it("passes the work's rejection on", async () => {
    await expect(withDeadline(Promise.reject(new Error("no")), 1_000)).rejects.toThrow("no");
  });
});
