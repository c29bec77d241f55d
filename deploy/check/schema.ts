// Offline validation of rendered manifests against the Kubernetes API types, in two passes over kubernetes-models
// (generated from the upstream OpenAPI spec, pinned in the root package.json):
// - its JSON-schema validators: types, required fields, enums, formats such as quantities;
// - its TypeScript declarations, type-checked as object literals: the compiler rejects every field the API does not
//   have, at any depth, which the API server also does (strict field validation) and the schemas alone do not.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import ts from "typescript";
import { deployDir, describeObject, type K8sObject } from "./render";

/** Problems found by the JSON-schema validators, as "Kind/name: /path message". */
export function schemaProblems(objects: readonly K8sObject[]): string[] {
  const output = execFileSync(process.execPath, [join(__dirname, "schema-worker.mjs")], {
    input: JSON.stringify(objects),
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
  return JSON.parse(output) as string[];
}

const virtualFile = join(deployDir, "check", "__rendered-manifests__.ts");

/** Fields the API does not know, and type mismatches, as "Kind/name: compiler message". */
export function unknownFieldProblems(objects: readonly K8sObject[]): string[] {
  const lines: string[] = [];
  const ranges: Array<{ start: number; end: number; object: K8sObject }> = [];
  let offset = 0;
  const add = (line: string) => {
    lines.push(line);
    offset += line.length + 1;
  };
  objects.forEach((object, index) => {
    add(`import type { I${object.kind} as T${index} } from "kubernetes-models/${object.apiVersion}/${object.kind}";`);
  });
  objects.forEach((object, index) => {
    const start = offset;
    add(`export const object${index}: T${index} = ${JSON.stringify(object, null, 1)};`);
    ranges.push({ start, end: offset, object });
  });
  const source = lines.join("\n");

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === virtualFile
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : getSourceFile.call(host, fileName, languageVersion, ...rest);
  host.fileExists = (fileName) => fileName === virtualFile || fileExists.call(host, fileName);
  host.readFile = (fileName) => (fileName === virtualFile ? source : readFile.call(host, fileName));
  const program = ts.createProgram([virtualFile], options, host);
  const sourceFile = program.getSourceFile(virtualFile);
  if (!sourceFile) throw new Error("the generated manifest source was not compiled");

  const checker = program.getTypeChecker();
  const problems: string[] = [];
  // Every field the declarations do not have, with its path (the compiler stops at the first one per object).
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const index = Number(/^object(\d+)$/.exec(declaration.name.getText(sourceFile))?.[1]);
      const object = objects[index];
      if (!object || !declaration.type) continue;
      const where = describeObject(object);
      walk(checker, object, checker.getTypeAtLocation(declaration.type), "", (path, problem) =>
        problems.push(`${where}: ${path} ${problem}`),
      );
    }
  }
  // Everything else the compiler finds (wrong types, missing required fields); excess fields are reported above.
  const excessProperty = new Set([2353, 2561]);
  for (const diagnostic of ts.getPreEmitDiagnostics(program, sourceFile)) {
    if (excessProperty.has(diagnostic.code)) continue;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (message.includes("Cannot find module")) {
      problems.push(`no type declarations for ${/kubernetes-models\/([^"']+)/.exec(message)?.[1] ?? message}`);
      continue;
    }
    const range = ranges.find(
      (r) => diagnostic.start !== undefined && diagnostic.start >= r.start && diagnostic.start < r.end,
    );
    // The offending line of the generated literal names the field, e.g. `"runAsNonRoot": "yes",`.
    const at = diagnostic.start === undefined ? "" : lineAt(source, diagnostic.start);
    problems.push(`${range ? describeObject(range.object) : "(imports)"}: ${message}${at ? ` (at ${at})` : ""}`);
  }
  return problems;
}

function walk(
  checker: ts.TypeChecker,
  value: unknown,
  declared: ts.Type,
  path: string,
  report: (path: string, problem: string) => void,
): void {
  if (value === null || typeof value !== "object") return;
  const type = checker.getNonNullableType(declared);
  if (Array.isArray(value)) {
    const element = checker.getIndexInfoOfType(type, ts.IndexKind.Number)?.type;
    if (element) for (const [i, item] of value.entries()) walk(checker, item, element, `${path}/${i}`, report);
    return;
  }
  const objectTypes = type.isUnion() ? type.types.filter((t) => t.flags & ts.TypeFlags.Object) : [type];
  // A union of several object types has no single field list: the compiler's own check covers it.
  const [objectType] = objectTypes;
  if (objectTypes.length !== 1 || !objectType) return;
  const anyKey = checker.getIndexInfoOfType(objectType, ts.IndexKind.String)?.type;
  for (const [key, child] of Object.entries(value)) {
    const property = checker.getPropertyOfType(objectType, key);
    if (property) walk(checker, child, checker.getTypeOfSymbol(property), `${path}/${key}`, report);
    else if (anyKey) walk(checker, child, anyKey, `${path}/${key}`, report);
    else report(`${path}/${key}`, `is not a field of ${checker.typeToString(objectType)}`);
  }
}

function lineAt(text: string, position: number): string {
  const start = text.lastIndexOf("\n", position - 1) + 1;
  const end = text.indexOf("\n", position);
  return text.slice(start, end < 0 ? undefined : end).trim();
}
