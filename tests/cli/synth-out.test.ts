// synth's output folder: synth owns it through a marker listing what it wrote, and a rerun removes
// exactly those files, nothing the user put there and nothing outside it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../../tools/cli/run";
import { checkOutDir, OUT_MARKER, replaceOwnedFiles } from "../../tools/synth/out-dir";

const ROOT = path.resolve(__dirname, "../..");
const GUARD = { root: ROOT, stacks: path.join(ROOT, "stacks") };
let tmp: string;

beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "synth-out-"))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const marker = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, OUT_MARKER), "utf8")) as { tool: string; files: string[] };

test("a rerun replaces the files synth wrote, removes the ones it no longer writes, and keeps the user's", () => {
  const out = path.join(tmp, "out");
  replaceOwnedFiles(
    checkOutDir(out, GUARD),
    new Map([
      ["ns-a/configmap-a.yaml", "a: 1\n"],
      ["ns-b/service-b.yaml", "b: 1\n"],
    ]),
  );
  fs.writeFileSync(path.join(out, "NOTES.md"), "mine");
  fs.writeFileSync(path.join(out, "ns-b", "extra.yaml"), "also mine");
  replaceOwnedFiles(
    checkOutDir(out, GUARD),
    new Map([
      ["ns-a/configmap-a.yaml", "a: 2\n"],
      ["ns-c/secret-c.yaml", "c: 1\n"],
    ]),
  );
  expect(fs.readFileSync(path.join(out, "ns-a/configmap-a.yaml"), "utf8")).toBe("a: 2\n");
  expect(fs.readFileSync(path.join(out, "ns-c/secret-c.yaml"), "utf8")).toBe("c: 1\n");
  expect(fs.existsSync(path.join(out, "ns-b/service-b.yaml"))).toBe(false);
  expect(fs.readFileSync(path.join(out, "NOTES.md"), "utf8")).toBe("mine");
  expect(fs.readFileSync(path.join(out, "ns-b/extra.yaml"), "utf8")).toBe("also mine");
  expect(marker(out).files).toEqual(["ns-a/configmap-a.yaml", "ns-c/secret-c.yaml"]);
});

test("folders left empty by removed files go; a folder still holding a user's file stays", () => {
  const out = path.join(tmp, "out");
  replaceOwnedFiles(
    checkOutDir(out, GUARD),
    new Map([
      ["gone/a.yaml", "a"],
      ["kept/b.yaml", "b"],
    ]),
  );
  fs.writeFileSync(path.join(out, "kept", "user.txt"), "u");
  replaceOwnedFiles(checkOutDir(out, GUARD), new Map([["other/c.yaml", "c"]]));
  expect(fs.existsSync(path.join(out, "gone"))).toBe(false);
  expect(fs.readdirSync(path.join(out, "kept"))).toEqual(["user.txt"]);
});

test("a symlink where synth writes a file is replaced, not written through", () => {
  const out = path.join(tmp, "out");
  const outside = path.join(tmp, "precious.txt");
  fs.writeFileSync(outside, "precious");
  replaceOwnedFiles(checkOutDir(out, GUARD), new Map([["ns/a.yaml", "a"]]));
  fs.rmSync(path.join(out, "ns/a.yaml"));
  fs.symlinkSync(outside, path.join(out, "ns/a.yaml"));
  replaceOwnedFiles(checkOutDir(out, GUARD), new Map([["ns/a.yaml", "new"]]));
  expect(fs.readFileSync(outside, "utf8")).toBe("precious");
  expect(fs.lstatSync(path.join(out, "ns/a.yaml")).isSymbolicLink()).toBe(false);
});

test("a folder of the old output swapped for a symlink elsewhere is not followed when removing", () => {
  const out = path.join(tmp, "out");
  const elsewhere = path.join(tmp, "elsewhere");
  replaceOwnedFiles(checkOutDir(out, GUARD), new Map([["ns/a.yaml", "a"]]));
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(elsewhere, "a.yaml"), "not synth's");
  fs.rmSync(path.join(out, "ns"), { recursive: true });
  fs.symlinkSync(elsewhere, path.join(out, "ns"));
  replaceOwnedFiles(checkOutDir(out, GUARD), new Map([["other/b.yaml", "b"]]));
  expect(fs.readFileSync(path.join(elsewhere, "a.yaml"), "utf8")).toBe("not synth's");
});

test.each([
  ["the repository root", () => ROOT, /refusing to write into/],
  ["stacks/", () => path.join(ROOT, "stacks"), /refusing to write into/],
  ["a parent of the repository", () => path.dirname(ROOT), /, a parent of /],
  ["inside stacks/", () => path.join(ROOT, "stacks", "x"), /refusing to write inside/],
  ["a file", () => path.join(ROOT, "package.json"), /is a file, not a folder/],
  ["a folder below a file", () => path.join(ROOT, "package.json", "x"), /is a file, so no folder can be made below it/],
  [
    "a foreign non-empty folder",
    () => {
      fs.writeFileSync(path.join(tmp, "f.txt"), "x");
      return tmp;
    },
    /is not empty and was not written by synth/,
  ],
])("checkOutDir refuses %s with a UserError", (_what, dir, message) => {
  const target = dir();
  expect(() => checkOutDir(target, GUARD)).toThrow(UserError);
  expect(() => checkOutDir(target, GUARD)).toThrow(message);
});

test("the real synth writes its marker, and a second run into the same folder succeeds and keeps a user's file", () => {
  const out = path.join(tmp, "dev");
  const synth = () =>
    spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), "tools/synth/cli.ts", "--stack", "dev", "-q", "--out", out], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 180_000,
    });
  const first = synth();
  expect({ code: first.status, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
  const written = marker(out).files;
  expect(written.length).toBeGreaterThan(40);
  for (const f of written) expect(fs.existsSync(path.join(out, f))).toBe(true);
  fs.writeFileSync(path.join(out, "README.txt"), "my notes");
  const second = synth();
  expect({ code: second.status, stderr: second.stderr }).toEqual({ code: 0, stderr: "" });
  expect(marker(out).files).toEqual(written);
  expect(fs.readFileSync(path.join(out, "README.txt"), "utf8")).toBe("my notes");
}, 240_000);
