import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "@barito-flow/logger";
import { afterEach, describe, expect, it } from "@jest/globals";
import { createFileSecretSource, type FileSecretSource } from "./file-secret-source.js";
import { createSecretDigester } from "./secret-digest.js";
import { SecretTableError } from "./secret-table.js";

const lines: string[] = [];
const logger: Logger = {
  debug: () => {},
  info: (msg, meta) => lines.push(JSON.stringify({ msg, ...meta })),
  warn: (msg, meta) => lines.push(JSON.stringify({ msg, ...meta })),
  error: (msg, meta) => lines.push(JSON.stringify({ level: "error", msg, ...meta })),
  child: () => logger,
};
const dirs: string[] = [];
const sources: FileSecretSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  lines.length = 0;
});

function open(path: string) {
  const source = createFileSecretSource({ path, digester: createSecretDigester(), intervalMs: 60_000, logger });
  sources.push(source);
  return source;
}
const topics = (source: FileSecretSource, secret: string) => {
  const grant = source.lookup(secret);
  return grant && !(grant instanceof Promise) ? [...grant.topics] : undefined;
};

describe("createFileSecretSource", () => {
  it("refuses to start on a missing or broken file, without quoting it", () => {
    const dir = mkdtempSync(join(tmpdir(), "auth-"));
    dirs.push(dir);
    expect(() => open(join(dir, "missing.json"))).toThrow(/cannot read the file \(ENOENT\)/);
    writeFileSync(join(dir, "broken.json"), '{"hidden-secret": ["shop"');
    let error: unknown;
    try {
      open(join(dir, "broken.json"));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SecretTableError);
    expect((error as Error).message).not.toContain("hidden");
  });

  it("takes a changed file, keeps the last good table on a broken one and says so once, without its content", async () => {
    const dir = mkdtempSync(join(tmpdir(), "auth-"));
    dirs.push(dir);
    const path = join(dir, "secrets.json");
    writeFileSync(path, JSON.stringify({ "first-secret": ["shop"] }));
    const source = open(path);
    expect(topics(source, "first-secret")).toEqual(["shop"]);
    expect(await source.reload()).toBe(false);

    writeFileSync(path, JSON.stringify({ "second-secret": ["billing"] }));
    expect(await source.reload()).toBe(true);
    expect(topics(source, "second-secret")).toEqual(["billing"]);
    expect(topics(source, "first-secret")).toBeUndefined();

    writeFileSync(path, '{"leaked-secret": ["x"], oops');
    expect(await source.reload()).toBe(false);
    expect(await source.reload()).toBe(false);
    expect(topics(source, "second-secret")).toEqual(["billing"]);
    const errors = lines.filter((line) => line.includes('"level":"error"'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("last good table");
    expect(lines.join("\n")).not.toMatch(/leaked|first-secret|second-secret/);

    rmSync(path);
    expect(await source.reload()).toBe(false);
    expect(topics(source, "second-secret")).toEqual(["billing"]);
  });

  it("follows a Kubernetes Secret volume's symlink swap", async () => {
    const dir = mkdtempSync(join(tmpdir(), "auth-"));
    dirs.push(dir);
    // What the kubelet writes: ..2026_1/secrets.json, ..data -> ..2026_1, secrets.json -> ..data/secrets.json.
    const version = (name: string, content: object) => {
      const versionDir = join(dir, name);
      rmSync(versionDir, { recursive: true, force: true });
      mkdirSync(versionDir);
      writeFileSync(join(versionDir, "secrets.json"), JSON.stringify(content));
    };
    version("..v1", { "v1-secret": ["shop"] });
    symlinkSync("..v1", join(dir, "..data"));
    symlinkSync("..data/secrets.json", join(dir, "secrets.json"));
    const source = open(join(dir, "secrets.json"));
    expect(topics(source, "v1-secret")).toEqual(["shop"]);

    version("..v2", { "v2-secret": ["shop"] });
    symlinkSync("..v2", join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    rmSync(join(dir, "..v1"), { recursive: true });
    expect(await source.reload()).toBe(true);
    expect(topics(source, "v2-secret")).toEqual(["shop"]);
    expect(topics(source, "v1-secret")).toBeUndefined();
  });
});
