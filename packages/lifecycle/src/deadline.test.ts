import { describe, expect, it } from "@jest/globals";
import { waitUntil, withDeadline } from "./deadline.js";

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

describe("waitUntil", () => {
  it("is true once the condition holds", async () => {
    let checks = 0;
    expect(await waitUntil(() => ++checks === 3, 1_000, 1)).toBe(true);
    expect(checks).toBe(3);
  });
  it("is false when the time passes first", async () => {
    expect(await waitUntil(() => false, 20, 5)).toBe(false);
  });
  it("does not wait when the condition already holds", async () => {
    expect(await waitUntil(() => true, 0)).toBe(true);
  });
});
