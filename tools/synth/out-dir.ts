import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../cli/run";

/**
 * synth owns an output folder through this marker file, which lists every file synth wrote there. A
 * rerun removes exactly those files (and the folders they leave empty), never anything else: a folder
 * the user pointed at by mistake (`--out stacks`, `--out .`) is refused before anything is rendered.
 */
export const OUT_MARKER = ".classroom-synth";

interface Marker {
  tool: "classroom-platform synth";
  /** Paths relative to the output folder, with `/` separators. */
  files: string[];
}

/**
 * The real output folder for `--out dir`, or a UserError when synth must not write there: the repository
 * root, the stack folder, any parent of them, anything inside the stack folder, a file, or a non-empty
 * folder without synth's marker. Symlinks are followed first, so a link to stacks/ is stacks/.
 */
export function checkOutDir(dir: string, guard: { root: string; stacks: string }): string {
  const shown = dir;
  const resolved = realpathAllowingMissing(path.resolve(dir));
  const stacks = realpathAllowingMissing(path.resolve(guard.stacks));
  for (const guarded of [realpathAllowingMissing(path.resolve(guard.root)), stacks]) {
    if (resolved === guarded || isInside(guarded, resolved)) {
      throw new UserError(
        `--out ${shown}: refusing to write into ${describe(guarded, resolved)}; synth replaces what it wrote in its output folder, choose a new or empty folder such as out/<stack>`,
      );
    }
  }
  if (isInside(resolved, stacks)) {
    throw new UserError(`--out ${shown}: refusing to write inside ${stacks} (it holds the stack files); choose a folder such as out/<stack>`);
  }
  if (!fs.existsSync(resolved)) {
    let ancestor = path.dirname(resolved);
    while (!fs.existsSync(ancestor)) ancestor = path.dirname(ancestor);
    if (!fs.statSync(ancestor).isDirectory()) throw new UserError(`--out ${shown}: ${ancestor} is a file, so no folder can be made below it`);
    return resolved;
  }
  const stat = fs.statSync(resolved);
  if (!stat.isDirectory()) throw new UserError(`--out ${shown}: is a file, not a folder; choose a new or empty folder`);
  const entries = fs.readdirSync(resolved);
  if (entries.length > 0 && !entries.includes(OUT_MARKER)) {
    throw new UserError(
      `--out ${shown}: the folder is not empty and was not written by synth (no ${OUT_MARKER} file in it); choose a new or empty folder, or remove it yourself`,
    );
  }
  if (entries.includes(OUT_MARKER)) readMarker(resolved, shown);
  return resolved;
}

/**
 * Replaces what synth wrote last time in `dir` (checked by checkOutDir) with `files` (relative path ->
 * content) and records them in the marker. Files the user added to the folder stay.
 */
export function replaceOwnedFiles(dir: string, files: ReadonlyMap<string, string>): void {
  // Checked for every file before anything is written, so a refusal leaves the folder as it was.
  for (const rel of files.keys()) refuseLinkedFolder(dir, rel);
  fs.mkdirSync(dir, { recursive: true });
  const markerFile = path.join(dir, OUT_MARKER);
  const previous = fs.existsSync(markerFile) ? readMarker(dir, dir).files : [];
  for (const rel of previous) {
    const file = path.join(dir, rel);
    if (!files.has(rel) && fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() && staysInside(dir, file)) fs.rmSync(file);
  }
  // The marker is written first and lists old and new files, so an interrupted run still owns both.
  writeMarker(markerFile, [...new Set([...previous, ...files.keys()])]);
  for (const [rel, content] of files) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) fs.rmSync(file);
    fs.writeFileSync(file, content);
  }
  for (const folder of new Set(previous.map((rel) => path.dirname(rel)))) removeIfEmpty(dir, folder);
  writeMarker(markerFile, [...files.keys()]);
}

/**
 * Refuses a file whose folder inside `dir` is a symlink or not a folder: writing there would follow the
 * link out of the folder synth owns (a subfolder someone replaced with a link to elsewhere).
 */
function refuseLinkedFolder(dir: string, rel: string): void {
  const parts = rel.split("/").slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const folder = path.join(dir, ...parts.slice(0, i));
    const stat = fs.lstatSync(folder, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isSymbolicLink())
      throw new UserError(
        `--out ${dir}: ${parts.slice(0, i).join("/")} is a symlink (to ${fs.readlinkSync(folder)}); synth writes only inside its own folder: remove the link`,
      );
    if (!stat.isDirectory()) throw new UserError(`--out ${dir}: ${parts.slice(0, i).join("/")} is not a folder; synth needs it for ${rel}: remove it`);
  }
}

function writeMarker(markerFile: string, files: string[]): void {
  const marker: Marker = { tool: "classroom-platform synth", files: files.sort() };
  fs.writeFileSync(markerFile, `${JSON.stringify(marker, null, 2)}\n`);
}

function readMarker(dir: string, shown: string): Marker {
  let marker: Partial<Marker>;
  try {
    marker = JSON.parse(fs.readFileSync(path.join(dir, OUT_MARKER), "utf8"));
  } catch {
    throw new UserError(`--out ${shown}: ${OUT_MARKER} is not synth's marker (not JSON); remove the folder yourself or choose another`);
  }
  const files = Array.isArray(marker.files) ? marker.files : undefined;
  // A listed path must stay inside the folder: a hand-edited marker must not make synth delete elsewhere.
  if (marker.tool !== "classroom-platform synth" || !files || files.some((f) => typeof f !== "string" || !isOwnedPath(f))) {
    throw new UserError(`--out ${shown}: ${OUT_MARKER} is not synth's marker (unexpected content); remove the folder yourself or choose another`);
  }
  return { tool: marker.tool, files };
}

function isOwnedPath(rel: string): boolean {
  return rel.length > 0 && !path.posix.isAbsolute(rel) && !rel.split("/").some((part) => part === ".." || part === "." || part === "") && rel !== OUT_MARKER;
}

function removeIfEmpty(dir: string, rel: string): void {
  for (let folder = rel; folder !== "." && folder !== ""; folder = path.dirname(folder)) {
    const full = path.join(dir, folder);
    if (!fs.lstatSync(full, { throwIfNoEntry: false })?.isDirectory() || fs.readdirSync(full).length > 0) return;
    fs.rmdirSync(full);
  }
}

/** Whether `file`'s folder, symlinks followed, is still inside `dir` (a folder swapped for a link is not). */
function staysInside(dir: string, file: string): boolean {
  const real = fs.realpathSync(path.dirname(file));
  return real === fs.realpathSync(dir) || isInside(real, fs.realpathSync(dir));
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function describe(guarded: string, target: string): string {
  return target === guarded ? guarded : `${target}, a parent of ${guarded}`;
}

/** The real path of `p`, following symlinks in the part that exists (so a symlink to stacks/ is stacks/). */
function realpathAllowingMissing(p: string): string {
  const rest: string[] = [];
  let existing = p;
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...rest);
}
