// Validates Kubernetes objects (a JSON array on stdin) with kubernetes-models' JSON-schema validators, generated from
// the upstream OpenAPI spec. A separate Node process because kubernetes-models is ESM-only and Jest here runs
// CommonJS. Prints a JSON array of problems.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
for (const object of objects) {
  const where = `${object.kind}/${object.metadata?.name}`;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`))[object.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    problems.push(`${where}: no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (err) {
    const details = err?.errors ?? err?.details;
    if (!Array.isArray(details)) {
      problems.push(`${where}: ${String(err)}`);
      continue;
    }
    for (const detail of details) problems.push(`${where}: ${detail.instancePath || "/"} ${detail.message}`);
  }
}
process.stdout.write(JSON.stringify(problems));
