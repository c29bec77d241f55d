// The memory budgets in the built images at production volume (`pnpm images memory`): the consumer container under
// --memory 512m drains 1M records over 32 partitions, each indexed once; the producer container under --memory 256m
// takes 1M logs at 16 and at 64 concurrent 1,000-log requests, each acknowledged log in Kafka. No OOM kill, and
// docker stop exits 0. Needs a container engine, like images.it.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { buildImages, missingImages } from "./build.ts";
import { type Engine, ensureEngine } from "./engine.ts";
import { consumerMemoryCheck, producerMemoryCheck } from "./memory.ts";

const log = (line: string): void => console.log(line);
let engine: Engine | undefined;

beforeAll(async () => {
  engine = await ensureEngine(log);
  if (missingImages().length > 0) await buildImages(log);
}, 1_200_000);

afterAll(async () => {
  await engine?.stop();
}, 120_000);

describe("the memory budgets in the images, at production volume", () => {
  it("the consumer container drains a 1M-record backlog within 512m", async () => {
    const result = await consumerMemoryCheck(log);
    console.log(result.detail);
    expect(result).toMatchObject({ ok: true });
  }, 1_500_000);

  it("the producer container takes 1M-log bursts within 256m", async () => {
    const result = await producerMemoryCheck(log);
    console.log(result.detail);
    expect(result).toMatchObject({ ok: true });
  }, 600_000);
});
