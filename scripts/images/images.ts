// `pnpm images <command>`: the container images of the two apps, built and checked on this machine.
//   build [--rebuild-base]   base image (made once, cached), then barito-flow/producer and /consumer:<version>+latest
//   test                     the built images against the running local stack (pass/fail per check)
//   compose check|up|down    the docker-compose pipeline on images built here (docker-compose.local.yml)
//   engine start|stop|status dockerd for this checkout (started only when none answers; stopped only if ours)
// Env: BARITO_NODE_IMAGE/BARITO_RUNTIME_IMAGE build on given images instead of the local base (e.g. the official
// node:24-bookworm-slim where a registry answers); BARITO_IMAGES_CACHE moves the base tarball's directory.
import { ensureBase } from "./base.ts";
import { buildImages, missingImages, printBuildSummary } from "./build.ts";
import { printSummary, runImageChecks } from "./checks.ts";
import { composeCheck, composeDown, composeUp, printComposeSummary } from "./compose.ts";
import { engineAnswers, engineFiles, ensureEngine, formatSeconds, ImagesError, stopEngine } from "./engine.ts";

const log = (line: string): void => console.log(line === "" ? "" : `[images] ${line}`);
const [command = "help", sub, ...rest] = process.argv.slice(2);
const flags = new Set([sub, ...rest].filter((a): a is string => a?.startsWith("--") ?? false));

async function withEngine<T>(work: () => Promise<T>): Promise<T> {
  const engine = await ensureEngine(log);
  try {
    return await work();
  } finally {
    // An engine this command started is stopped again; one started by CI or by `engine start` stays.
    await engine.stop();
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  switch (command) {
    case "build": {
      const result = await withEngine(() =>
        buildImages(log, {
          nodeImage: process.env.BARITO_NODE_IMAGE || undefined,
          runtimeImage: process.env.BARITO_RUNTIME_IMAGE || undefined,
          rebuildBase: flags.has("--rebuild-base"),
        }),
      );
      printBuildSummary(result, log);
      log(`build done in ${formatSeconds(Date.now() - started)}`);
      return 0;
    }
    case "base": {
      const result = await withEngine(() => ensureBase(log, { rebuild: flags.has("--rebuild") }));
      log(`base ${result.how}: ${result.image} (${formatSeconds(result.ms)})`);
      return 0;
    }
    case "test": {
      const ok = await withEngine(async () => {
        const missing = missingImages();
        if (missing.length > 0) {
          log(`not built yet: ${missing.join(", ")}; building first`);
          printBuildSummary(await buildImages(log), log);
        }
        return printSummary(await runImageChecks(log), log);
      });
      log(`test done in ${formatSeconds(Date.now() - started)}`);
      return ok ? 0 : 1;
    }
    case "compose": {
      if (sub === "up") {
        // The engine stays up with the project: it is left running for the user (stop: pnpm images engine stop).
        await ensureEngine(log);
        await composeUp(log);
        return 0;
      }
      if (sub === "down") {
        await withEngine(() => composeDown(log));
        return 0;
      }
      if (sub === "check") {
        const result = await withEngine(() => composeCheck(log));
        printComposeSummary(result, log);
        return result.ok ? 0 : 1;
      }
      throw new ImagesError("usage", "usage: pnpm images compose check|up|down");
    }
    case "engine": {
      if (sub === "start") {
        const engine = await ensureEngine(log);
        log(
          engine.started
            ? `engine started (pid ${engine.pid}); stop it with: pnpm images engine stop`
            : "an engine already answers; nothing started",
        );
        return 0;
      }
      if (sub === "stop") {
        await stopEngine(log);
        return 0;
      }
      if (sub === "status") {
        log(engineAnswers() ? "engine answers" : "no engine answers");
        log(`pid file of an engine started here: ${engineFiles.pid()}`);
        return engineAnswers() ? 0 : 1;
      }
      throw new ImagesError("usage", "usage: pnpm images engine start|stop|status");
    }
    default:
      console.log(
        "usage: pnpm images build [--rebuild-base] | test | compose check|up|down | engine start|stop|status | base [--rebuild]",
      );
      return command === "help" ? 0 : 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const err = error as Error & { code?: string };
    console.error(`[images] error${err.code ? ` (${err.code})` : ""}: ${err.message}`);
    process.exit(1);
  },
);
