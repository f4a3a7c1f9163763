// The runtime ships as its own package (runtime/package.json) into an image with production dependencies
// only: a module it imports but does not declare works in the repository (the root's node_modules) and
// crashes the daemon in the image. Every bare import of runtime/ must be a declared dependency.
//
// The same holds for the other packages of the repository: the IaC program (infra/, components/) and the
// tools belong to the root package, the policy pack to policies/package.json. A workspace package that is
// imported but not declared resolves only because npm happens to link every workspace into the root's
// node_modules; declared, `npm ci` and the lock file know the dependency.
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const RUNTIME = path.join(ROOT, "runtime");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "dist") return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith(".ts") ? [full] : [];
  });
}

const dependenciesOf = (dir: string, fields = ["dependencies"]): string[] => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  return fields.flatMap((f) => Object.keys(manifest[f] ?? {}));
};
const packageOf = (specifier: string) => (specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]);
const isBuiltin = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier);
const declared = dependenciesOf(RUNTIME);
const statements = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\brequire\("([^"]+)"\)|\bimport\("([^"]+)"\)/gm;

test.each(sources(RUNTIME).map((f) => [path.relative(RUNTIME, f), f]))(
  "runtime/%s imports only declared dependencies and files of the package",
  (_name, file) => {
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(statements)) {
      const specifier = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (specifier.startsWith(".")) {
        expect(path.resolve(path.dirname(file), specifier).startsWith(RUNTIME + path.sep)).toBe(true);
      } else if (!isBuiltin(specifier)) {
        expect(declared).toContain(packageOf(specifier));
      }
    }
  },
);

// Where each folder's code runs decides which dependencies count: the program (infra/, components/) is
// loaded by `pulumi up` and needs production dependencies; the tools run from a full `npm ci`.
const OWNERS: Array<{ dir: string; pkg: string; fields: string[] }> = [
  { dir: "infra", pkg: ".", fields: ["dependencies"] },
  { dir: "components", pkg: ".", fields: ["dependencies"] },
  { dir: "tools", pkg: ".", fields: ["dependencies", "devDependencies"] },
  { dir: "policies", pkg: "policies", fields: ["dependencies"] },
];

test.each(OWNERS.flatMap(({ dir, pkg, fields }) => sources(path.join(ROOT, dir)).map((f) => [path.relative(ROOT, f), pkg, fields] as const)))(
  "%s imports only packages its package.json (%s) declares",
  (file, pkg, fields) => {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const known = dependenciesOf(path.join(ROOT, pkg), [...fields]);
    const bare = [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]).filter((s) => !s.startsWith(".") && !isBuiltin(s));
    expect(bare.map(packageOf).filter((p) => !known.includes(p))).toEqual([]);
  },
);
