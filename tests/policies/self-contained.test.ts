// The policy pack is its own npm workspace: `pulumi preview --policy-pack policies` (and pulumi/actions)
// loads it on its own, so it may import only its declared dependencies and its own files.
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";

const PACK = path.resolve(__dirname, "../../policies");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "config" ? [] : sources(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  // Import statements (multi-line ones included), side-effect imports and require calls; not prose in comments.
  const statements = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\brequire\("([^"]+)"\)/gm;
  return [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const declared = Object.keys(JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8")).dependencies);
const packageOf = (specifier: string) => (specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]);

test.each(sources(PACK).map((f) => [path.relative(PACK, f), f]))("%s imports only the pack's own files and declared dependencies", (_name, file) => {
  for (const specifier of imports(file)) {
    if (specifier.startsWith(".")) {
      expect(path.resolve(path.dirname(file), specifier).startsWith(PACK + path.sep)).toBe(true);
    } else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
      expect(declared).toContain(packageOf(specifier));
    }
  }
});

test("the pack declares the Pulumi SDK at the version the program uses, so both see one engine protocol", () => {
  const root = JSON.parse(fs.readFileSync(path.resolve(PACK, "../package.json"), "utf8"));
  const pack = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
  expect(pack.dependencies["@pulumi/pulumi"]).toBe(root.dependencies["@pulumi/pulumi"]);
});
