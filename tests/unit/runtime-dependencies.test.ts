// The runtime ships as its own package (runtime/package.json) into an image with production dependencies
// only: a module it imports but does not declare works in the repository (the root's node_modules) and
// crashes the daemon in the image. Every bare import of runtime/ must be a declared dependency.
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";

const RUNTIME = path.resolve(__dirname, "../../runtime");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "dist") return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith(".ts") ? [full] : [];
  });
}

const declared = Object.keys(JSON.parse(fs.readFileSync(path.join(RUNTIME, "package.json"), "utf8")).dependencies);
const statements = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\brequire\("([^"]+)"\)|\bimport\("([^"]+)"\)/gm;

test.each(sources(RUNTIME).map((f) => [path.relative(RUNTIME, f), f]))(
  "runtime/%s imports only declared dependencies and files of the package",
  (_name, file) => {
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(statements)) {
      const specifier = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (specifier.startsWith(".")) {
        expect(path.resolve(path.dirname(file), specifier).startsWith(RUNTIME + path.sep)).toBe(true);
      } else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
        const pkg = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
        expect(declared).toContain(pkg);
      }
    }
  },
);
