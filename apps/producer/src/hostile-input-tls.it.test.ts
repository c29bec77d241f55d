// The hostile-input suite (hostile-input.it.test.ts) over TLS with client certificates: generated malformed requests
// on every protocol of a producer whose ports are HTTPS and h2 over TLS, on the real Kafka. Every answer must be a
// well-formed 4xx (or a success for valid input), never a 5xx or a crash; valid traffic alongside is unaffected.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as connectTls } from "node:tls";
import { zstdCompressSync, gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimberCollectionSchema } from "@barito-flow/proto";
import { createTlsCertificates, type TlsCertificates } from "@barito-flow/tls";
import { createTestPki } from "@barito-flow/tls/testing";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import * as hostile from "./testing/hostile-cases.js";
import type { InProcessProducer } from "./testing/in-process.js";

const run = randomUUID().slice(0, 8);
const pki = createTestPki();
const ca = pki.ca("ca");
const server = ca.server("server");
const client = ca.client("client");
const topic = `hostiletls${run}`;
const context = hostile.validContext(topic);
const internal = 13;

let producer: InProcessProducer;
let tls: TlsCertificates;
let target: hostile.HostileTarget;

beforeAll(async () => {
  tls = createTlsCertificates({ paths: { ...server, clientCaPath: ca.certPath }, pollIntervalMs: 0 });
  ({ producer, target } = await hostile.startHostileProducer(run, `hostile-tls-${run}`, {
    service: tls,
    client: { ca: readFileSync(ca.certPath), cert: readFileSync(client.certPath), key: readFileSync(client.keyPath) },
  }));
});

afterAll(async () => {
  await producer.admin.deleteTopics([`${topic}_logs`, `it${run}_new_topic_events`]).catch(() => {});
  await producer.close();
  tls.close();
  pki.remove();
});

describe("producer under hostile input over TLS (real Kafka)", () => {
  it("answers broken and mistyped JSON bodies on every REST route with a well-formed 4xx, never a 5xx", async () => {
    await fc.assert(hostile.wellFormedRestAnswers(target), { numRuns: 300 });
  });

  it("answers garbage protobuf on gRPC (h2 over TLS) and Connect (HTTPS) with client errors, never INTERNAL", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const grpc = await hostile.rawGrpcAnswer(target, Buffer.from(bytes));
        expect(grpc.status).toBeGreaterThan(0);
        expect(grpc.status).not.toBe(internal);
        const connect = await hostile.postRaw(target, "/producer.Producer/ProduceBatch", bytes, "application/proto");
        expect(connect.status).toBeGreaterThanOrEqual(400);
        expect(connect.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });

  it("refuses compression bombs and oversize requests on every protocol with PAYLOAD_TOO_LARGE", async () => {
    const bomb = Buffer.alloc(5_000_000);
    for (const answer of [
      await hostile.rawGrpcAnswer(target, zstdCompressSync(bomb), { encoding: "zstd" }),
      await hostile.rawGrpcAnswer(target, gzipSync(bomb), { encoding: "gzip" }),
    ]) {
      expect(answer).toMatchObject({ status: 3, errorCode: "PAYLOAD_TOO_LARGE" });
    }
    const oversize = Buffer.from(
      toBinary(
        TimberCollectionSchema,
        create(TimberCollectionSchema, { items: [{ content: { blob: "x".repeat(300_000) } }] }),
      ),
    );
    expect(await hostile.rawGrpcAnswer(target, oversize)).toMatchObject({ status: 3, errorCode: "PAYLOAD_TOO_LARGE" });
    const connect = await hostile.postRaw(target, "/producer.Producer/ProduceBatch", oversize, "application/proto");
    expect(connect.status).toBe(400);
    expect(connect.headers["barito-error-code"]).toBe("PAYLOAD_TOO_LARGE");
    const rest = await hostile.postRaw(
      target,
      "/produce_batch",
      JSON.stringify({ context, items: [{ content: { blob: "x".repeat(300_000) } }] }),
    );
    expect(rest.status).toBe(413);
  });

  it("survives TLS clients that go away mid-request and raw garbage after the handshake", async () => {
    const url = new URL(target.rest);
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connectTls(
          { host: "127.0.0.1", port: Number(url.port), servername: "localhost", ...target.tls },
          () => {
            socket.write(
              i % 2
                ? 'POST /produce_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"context":'
                : Buffer.from(Array.from({ length: 200 }, (_, j) => (j * 37 + i) % 256)),
            );
            socket.end();
          },
        );
        socket.on("data", (chunk: Buffer) => expect(chunk.toString("latin1")).not.toMatch(/^HTTP\/1\.1 5\d\d/));
        socket.on("error", () => resolve());
        socket.on("close", () => resolve());
      });
    }
    expect(
      (await hostile.postRaw(target, "/produce", JSON.stringify({ context, content: { after: "garbage" } }))).status,
    ).toBe(200);
    expect(producer.app.readiness().ready).toBe(true);
  });

  it("keeps serving valid traffic while hostile requests flow", async () => {
    const { hostileAnswers, validAnswers } = await hostile.sendHostileAmongValid(target, context, {
      hostile: 100,
      valid: 50,
    });
    for (const answer of hostileAnswers) expect(answer.status).toBe(400);
    for (const answer of validAnswers) expect(answer.status).toBe(200);
    expect(producer.app.readiness().ready).toBe(true);
  });
});
