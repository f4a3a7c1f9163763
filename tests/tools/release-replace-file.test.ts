import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ReleaseError } from "../../tools/release/errors";
import { replaceFileText, replaceRefusal } from "../../tools/release/replace-file";

/**
 * How the release replaces a stack file's text: through a temporary file in the same folder, renamed
 * over the original with its mode and owner, never over an edit it did not plan for. (Refusals that
 * depend on permissions run as an unprivileged user in tests/cli/release-permissions.test.ts.)
 */
let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-replace-"));
  file = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(file, "config: {}\n", { mode: 0o640 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the new text replaces the old one, with the file's mode, and nothing else is left in the folder", () => {
  replaceFileText(file, "config: {}\n", "config: { a: 1 }\n");
  expect(fs.readFileSync(file, "utf8")).toBe("config: { a: 1 }\n");
  expect(fs.statSync(file).mode & 0o7777).toBe(0o640);
  expect(fs.readdirSync(dir)).toEqual(["Pulumi.dev.yaml"]);
});

test("a file that is no longer what was planned on is left alone, and the temporary file is removed", () => {
  fs.writeFileSync(file, "config: { theirs: 1 }\n");
  expect(() => replaceFileText(file, "config: {}\n", "config: { mine: 1 }\n")).toThrow(ReleaseError);
  expect(() => replaceFileText(file, "config: {}\n", "config: { mine: 1 }\n")).toThrow(
    /was changed by someone else while the release was being planned; nothing written/,
  );
  expect(fs.readFileSync(file, "utf8")).toBe("config: { theirs: 1 }\n");
  expect(fs.readdirSync(dir)).toEqual(["Pulumi.dev.yaml"]);
});

test("a hard-linked file is refused: a rename would split it from its other name", () => {
  fs.linkSync(file, path.join(dir, "other-name.yaml"));
  expect(replaceRefusal(file)).toBe(
    `${file} has 2 hard links; nothing written: replacing it would split it from the other names (edit it through a symlink instead)`,
  );
  expect(() => replaceFileText(file, "config: {}\n", "x: 1\n")).toThrow(ReleaseError);
  expect(fs.readFileSync(path.join(dir, "other-name.yaml"), "utf8")).toBe("config: {}\n");
});

test("a file without any write bit is read-only even for root, whom the kernel never refuses", () => {
  fs.chmodSync(file, 0o444);
  expect(replaceRefusal(file)).toBe(`${file} is read-only (mode 0444); nothing written: make it writable first`);
  expect(() => replaceFileText(file, "config: {}\n", "x: 1\n")).toThrow(ReleaseError);
  expect(fs.readFileSync(file, "utf8")).toBe("config: {}\n");
});

test("a dangling symlink is named as such", () => {
  const link = path.join(dir, "Pulumi.gone.yaml");
  fs.symlinkSync("missing.yaml", link);
  expect(() => replaceRefusal(link)).toThrow(new ReleaseError(`${link} does not exist (a symlink to a missing file?)`));
});
