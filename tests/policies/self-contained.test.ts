// The policy pack is its own npm workspace: `pulumi preview --policy-pack policies` (and pulumi/actions)
// loads it on its own, so it may import only its declared dependencies and its own files.
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";

const PACK = path.resolve(__dirname, "../../policies");

/** The files `pulumi preview --policy-pack policies` loads: index.ts and everything it imports, transitively. */
function packFiles(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of imports(file).filter((s) => s.startsWith("."))) {
      const base = path.resolve(path.dirname(file), specifier);
      const resolved = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
      if (resolved) visit(resolved);
      else seen.add(base); // reported below: an import that leaves the pack or names nothing
    }
  };
  visit(path.join(PACK, "index.ts"));
  return [...seen];
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  // Import statements (multi-line ones included), side-effect imports and require calls; not prose in comments.
  const statements = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\brequire\("([^"]+)"\)/gm;
  return [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const declared = Object.keys(JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8")).dependencies);
const packageOf = (specifier: string) => (specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]);

test.each(packFiles().map((f) => [path.relative(PACK, f), f]))(
  "%s, loaded by the pack, imports only the pack's own files and declared dependencies",
  (_name, file) => {
    expect(file.startsWith(PACK + path.sep) && fs.existsSync(file)).toBe(true);
    for (const specifier of imports(file)) {
      if (specifier.startsWith(".")) {
        expect(path.resolve(path.dirname(file), specifier).startsWith(PACK + path.sep)).toBe(true);
      } else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
        expect(declared).toContain(packageOf(specifier));
      }
    }
  },
);

test("the pack declares the Pulumi SDK at the version the program uses, so both see one engine protocol", () => {
  const root = JSON.parse(fs.readFileSync(path.resolve(PACK, "../package.json"), "utf8"));
  const pack = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
  expect(pack.dependencies["@pulumi/pulumi"]).toBe(root.dependencies["@pulumi/pulumi"]);
});
