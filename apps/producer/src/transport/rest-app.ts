import { healthAnswer, healthPaths, type Readiness } from "@barito-flow/lifecycle";
import { Hono } from "hono";
import { openApiDocument } from "./openapi.js";
import { errorBody } from "./rest-body.js";

export interface RestAppOptions {
  readiness: () => Readiness;
  onRequest?: (route: string, status: number, seconds: number) => void;
  onUnexpected: (err: unknown) => void;
}

/**
 * What the REST port serves besides the produce routes (rest-fast.ts) and the RPC paths: health, the OpenAPI
 * document, and the 404 for everything else.
 */
export function createRestApp(options: RestAppOptions): Hono {
  const app = new Hono();

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    options.onRequest?.(c.req.routePath, c.res.status, (performance.now() - started) / 1000);
  });

  app.onError((err, c) => {
    options.onUnexpected(err);
    return c.json(errorBody("INTERNAL", "internal error"), 500);
  });
  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404));

  addHealthRoutes(app, options.readiness);
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  return app;
}

/** `/healthz` and `/readyz`, answered as every barito service answers them (@barito-flow/lifecycle). */
export function addHealthRoutes(app: Hono, readiness: () => Readiness): void {
  for (const path of healthPaths) {
    app.get(path, (c) => {
      const answer = healthAnswer(path, readiness);
      return c.body(answer.body, answer.status, { "content-type": answer.contentType });
    });
  }
}
