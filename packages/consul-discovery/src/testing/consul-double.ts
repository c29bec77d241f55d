// HashiCorp's published API double of Consul (`@hashicorp/consul-api-double`: the Consul HTTP API as response
// templates), served by HashiCorp's own server for it (`@hashicorp/api-double`, the express app its `api-double` bin
// builds), on a loopback port. Tests only: no Consul server can be installed on the project's machines.
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";

const require = createRequire(__filename);

type Handler = (req: unknown, res: unknown, next: () => void) => void;
interface ExpressApp {
  use(handler: Handler): ExpressApp;
  listen(port: number, host: string, ready: () => void): Server;
}
type Controller = () => { serve: Handler; mutate(cb: (body: unknown) => unknown, url: (url: string) => boolean): void };

export interface ConsulDouble {
  url: string;
  close(): Promise<void>;
}

export interface ConsulDoubleOptions {
  /** The double's template variables (`CONSUL_NODE_COUNT`, `CONSUL_CHECK_COUNT`, ...), as its env. */
  env?: Record<string, string>;
  /** Faker's seed: the same seed renders the same instances. */
  seed?: number;
  /** api-double's mutation hook: edits a JSON answer whose URL matches. */
  mutate?: { url: (url: string) => boolean; body: (body: unknown) => unknown };
}

export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const fixtures = dirname(require.resolve("@hashicorp/consul-api-double/package.json"));
  const apiDouble = require("@hashicorp/api-double") as (
    seed: number | undefined,
    dir: string,
    read: (path: string) => Promise<Buffer>,
    env: Record<string, string>,
    resolvePath: (path: string) => string,
  ) => Controller;
  const express = require(
    require.resolve("express", { paths: [require.resolve("@hashicorp/api-double")] }),
  ) as () => ExpressApp;
  const bodyParser = require(require.resolve("body-parser", { paths: [require.resolve("@hashicorp/api-double")] })) as {
    text(options: { type: string }): Handler;
  };
  const headers = require("@hashicorp/api-double/lib/headers") as () => Handler;
  // The controller keeps `console.log` when it is built and logs every request with it: built with a silent one.
  const log = console.log;
  console.log = () => {};
  let controller: ReturnType<Controller>;
  try {
    controller = apiDouble(options.seed ?? 1, fixtures, (path) => readFile(path), options.env ?? {}, resolve)();
  } finally {
    console.log = log;
  }
  if (options.mutate) controller.mutate(options.mutate.body, options.mutate.url);
  const app = express()
    .use(headers())
    .use(bodyParser.text({ type: "*/*" }))
    .use(controller.serve);
  const server = await new Promise<Server>((ready) => {
    const listening = app.listen(0, "127.0.0.1", () => ready(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
