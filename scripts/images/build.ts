// `pnpm images build`: the producer and consumer images from the root Dockerfile, on the local base (or on
// NODE_IMAGE/RUNTIME_IMAGE given by the caller), tagged <version> and latest, with sizes and phase durations.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BASE_IMAGE,
  dockerBuildArgs,
  ensureBase,
  imageExists,
  imageSize,
  PNPM_VERSION,
  RUNTIME_IMAGE,
} from "./base.ts";
import { dockerClient, formatMb, formatSeconds, type Log, repoRoot, stream } from "./engine.ts";

export const APPS = ["producer", "consumer"] as const;
export type AppName = (typeof APPS)[number];

export function appVersion(app: AppName): string {
  return (JSON.parse(readFileSync(join(repoRoot, "apps", app, "package.json"), "utf8")) as { version: string }).version;
}

export function imageTag(app: AppName, version = appVersion(app)): string {
  return `barito-flow/${app}:${version}`;
}

export interface Phase {
  name: string;
  ms: number;
  detail: string;
}

export interface BuildResult {
  images: { app: AppName; tag: string; bytes: number }[];
  phases: Phase[];
}

/** BuildKit's plain progress, reduced to step starts, their ends and errors, plus a heartbeat on long steps. */
function progressFilter(): (line: string) => boolean {
  let lastShown = Date.now();
  return (line) => {
    const show =
      /^#\d+ \[/.test(line) ||
      /^#\d+ (DONE|CACHED|ERROR)/.test(line) ||
      /error|ERR!|failed/i.test(line) ||
      Date.now() - lastShown > 15_000;
    if (show) lastShown = Date.now();
    return show;
  };
}

export interface BuildOptions {
  /** Build on these instead of the local base (e.g. the official node:24-bookworm-slim where a registry answers). */
  nodeImage?: string;
  runtimeImage?: string;
  rebuildBase?: boolean;
}

export async function buildImages(log: Log, options: BuildOptions = {}): Promise<BuildResult> {
  const phases: Phase[] = [];
  let nodeImage = options.nodeImage;
  let runtimeImage = options.runtimeImage ?? options.nodeImage;
  if (!nodeImage) {
    const base = await ensureBase(log, { rebuild: options.rebuildBase });
    phases.push({ name: "base image", ms: base.ms, detail: `${base.how}: ${BASE_IMAGE}` });
    nodeImage = BASE_IMAGE;
    runtimeImage = RUNTIME_IMAGE;
  }
  const images: BuildResult["images"] = [];
  for (const app of APPS) {
    const started = Date.now();
    const tag = imageTag(app);
    const latest = imageTag(app, "latest");
    log(`build: ${tag} (Dockerfile, APP=${app}, on ${nodeImage})`);
    await stream(
      dockerClient(),
      dockerBuildArgs({
        file: join(repoRoot, "Dockerfile"),
        context: repoRoot,
        tags: [tag, latest],
        buildArgs: { APP: app, NODE_IMAGE: nodeImage, RUNTIME_IMAGE: runtimeImage ?? nodeImage, PNPM_VERSION },
        labels: { "org.opencontainers.image.version": appVersion(app) },
      }),
      log,
      { prefix: `  ${app}: `, filter: progressFilter(), maxLineLength: 160 },
    );
    const bytes = imageSize(tag);
    images.push({ app, tag, bytes });
    phases.push({ name: `${app} image`, ms: Date.now() - started, detail: `${tag}, ${formatMb(bytes)}` });
  }
  return { images, phases };
}

export function missingImages(): string[] {
  return APPS.map((app) => imageTag(app)).filter((tag) => !imageExists(tag));
}

export function printBuildSummary(result: BuildResult, log: Log): void {
  log("");
  log("image                          size");
  for (const image of result.images) log(`${image.tag.padEnd(30)} ${formatMb(image.bytes)}`);
  log("");
  log("phase            time     detail");
  for (const phase of result.phases)
    log(`${phase.name.padEnd(16)} ${formatSeconds(phase.ms).padStart(7)}  ${phase.detail}`);
}
