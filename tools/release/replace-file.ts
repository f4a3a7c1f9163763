import * as fs from "node:fs";
import * as path from "node:path";
import { ReleaseError } from "./errors";

// How the release writes a stack file. The new text goes to a temporary file in the folder of the real
// file (the symlink's target, when the stack file is a symlink), gets the original's mode and owner,
// and is renamed over it: a crash, a full disk or a kill leaves either the old or the new file, never
// half of one, which an in-place rewrite (truncate, then write) cannot promise. The price is deliberate:
// the folder must be writable, the file gets a new inode, and a hard-linked file would be split from its
// other names, so those cases are refused with one line instead of being handled silently. The exception
// is a file this user may write (access(2), so group and other bits count) but does not own: a new file
// could not be given its owner, so that one is edited in place.

/** Why `file` cannot be replaced, or undefined when it can. Cheap: run it before seconds of planning. */
export function replaceRefusal(file: string): string | undefined {
  const target = realTarget(file);
  const stat = fs.statSync(target);
  const shown = target === file ? file : `${file} (a symlink to ${target})`;
  // A file without any write bit is a deliberate "do not edit", even for root, whom access() never refuses.
  if ((stat.mode & 0o222) === 0 || !accessible(target, fs.constants.W_OK)) {
    return `${shown} is read-only (mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}); nothing written: make it writable first`;
  }
  // Writable (access(2) above) but owned by someone else, through a group or other write bit: only an
  // edit in place keeps the owner, so neither the folder nor hard links matter for it.
  if (!canKeepOwner(stat)) return undefined;
  const dir = path.dirname(target);
  if (!accessible(dir, fs.constants.W_OK | fs.constants.X_OK)) {
    return `the folder ${dir} is read-only; nothing written: the release writes ${path.basename(target)} as a new file there and renames it into place, so that an interrupted write never leaves half a stack file`;
  }
  if (stat.nlink > 1)
    return `${shown} has ${stat.nlink} hard links; nothing written: replacing it would split it from the other names (edit it through a symlink instead)`;
  return undefined;
}

/** Whether a new file written by this process can be given `stat`'s owner: as root, or as the owner. */
function canKeepOwner(stat: fs.Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || uid === 0 || uid === stat.uid;
}

/**
 * Replaces the text of `file` with `text`, keeping mode, owner and group, through a symlink to its
 * target. Refuses (ReleaseError, nothing written) when the file is no longer `expected` (someone edited
 * it since it was read) or when `replaceRefusal` names a reason.
 */
export function replaceFileText(file: string, expected: string, text: string): void {
  const refusal = replaceRefusal(file);
  if (refusal) throw new ReleaseError(refusal);
  const target = realTarget(file);
  const changed = () => fs.readFileSync(target, "utf8") !== expected;
  if (changed()) throw changedMeanwhile(file);
  const stat = fs.statSync(target);
  if (!canKeepOwner(stat)) {
    writeInPlace(target, text, changed, file);
    return;
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.release-${process.pid}`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  let renamed = false;
  try {
    fs.writeFileSync(fd, text);
    fs.fchmodSync(fd, stat.mode & 0o7777);
    const written = fs.fstatSync(fd);
    if (written.uid !== stat.uid || written.gid !== stat.gid) {
      try {
        fs.fchownSync(fd, stat.uid, stat.gid);
      } catch {
        throw new ReleaseError(`${file} belongs to group ${stat.gid}, which this user cannot give a file; nothing written`);
      }
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // Checked again as late as possible: the window left is the rename itself.
    if (changed()) throw changedMeanwhile(file);
    fs.renameSync(tmp, target);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      fs.rmSync(tmp, { force: true });
    }
  }
}

/**
 * Rewrites a file this user may write but does not own (a group-writable stack file): a renamed new file
 * would belong to this user, so the text goes into the existing inode, which keeps owner, group and mode.
 * It is not atomic like the rename; the content check right before the write narrows the window.
 */
function writeInPlace(target: string, text: string, changed: () => boolean, file: string): void {
  const fd = fs.openSync(target, "r+");
  try {
    if (changed()) throw changedMeanwhile(file);
    const bytes = Buffer.from(text, "utf8");
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.ftruncateSync(fd, bytes.length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function changedMeanwhile(file: string): ReleaseError {
  return new ReleaseError(`${file} was changed by someone else while the release was being planned; nothing written: run the command again on the new content`);
}

function realTarget(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    throw new ReleaseError(`${file} does not exist (a symlink to a missing file?)`);
  }
}

function accessible(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}
