import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checksums, NOBODY, runRelease, TRACE } from "./release-runner";

/**
 * How a release writes its stack file: the edit keeps the file's mode and owner, goes through a symlink
 * to its target, and a read-only file or folder is refused with one line (exit 2) and left alone. Root
 * ignores file permissions, so the commands run as the unprivileged user `nobody`; the test itself
 * (root) prepares and inspects the files.
 */
jest.setTimeout(300_000);

const STEP = ["dev", "room-api", "canary", "--image", "registry.classroom.internal/room-api:1.9.0", "--weight", "10", "--no-deploy"];
const CANARY_LINE = "canary: { image: registry.classroom.internal/room-api:1.9.0, replicas: 1, weight: 10 }";
const source = path.join(__dirname, "..", "..", "stacks", "Pulumi.dev.yaml");

/** A folder owned by `owner` holding a copy of the dev stack file with `mode`. */
function stackCopy(owner: { uid: number; gid: number }, mode: number): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-perm-"));
  const file = path.join(dir, "Pulumi.dev.yaml");
  fs.copyFileSync(source, file);
  fs.chownSync(dir, owner.uid, owner.gid);
  fs.chownSync(file, owner.uid, owner.gid);
  fs.chmodSync(file, mode);
  return { dir, file };
}

const mode = (file: string) => fs.statSync(file).mode & 0o7777;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    fs.chmodSync(d, 0o700);
    fs.rmSync(d, { recursive: true, force: true });
  }
});
function track<T extends { dir: string }>(t: T): T {
  dirs.push(t.dir);
  return t;
}

describe("refusals as an unprivileged user: one line, exit 2, file untouched", () => {
  test.concurrent("a read-only stack file", async () => {
    const { dir, file } = track(stackCopy(NOBODY, 0o444));
    const before = checksums(dir);
    const run = await runRelease([...STEP, "--stacks-dir", dir], { user: NOBODY });
    expect({ code: run.code, stderr: run.stderr.trim() }).toEqual({
      code: 2,
      stderr: `release: ${file} is read-only (mode 0444); nothing written: make it writable first`,
    });
    expect(checksums(dir)).toEqual(before);
    expect(mode(file)).toBe(0o444);
  });

  test.concurrent("a read-only folder (the edit is written next to the file and renamed into place)", async () => {
    const { dir, file } = track(stackCopy(NOBODY, 0o644));
    fs.chmodSync(dir, 0o555);
    const before = checksums(dir);
    const run = await runRelease([...STEP, "--stacks-dir", dir], { user: NOBODY });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^release: the folder ${dir} is read-only; nothing written: the release writes Pulumi\\.dev\\.yaml as a new file there and renames it into place`,
      ),
    );
    expect(run.stderr).not.toMatch(TRACE);
    expect(run.stderr).not.toMatch(/errno|EACCES/);
    expect(checksums(dir)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual([path.basename(file)]);
  });

  test.concurrent("a stack file the user cannot read, under status", async () => {
    const { dir, file } = track(stackCopy({ uid: 0, gid: 0 }, 0o600));
    fs.chmodSync(dir, 0o755);
    const run = await runRelease(["dev", "room-api", "status", "--stacks-dir", dir], { user: NOBODY });
    expect({ code: run.code, stderr: run.stderr.trim() }).toEqual({ code: 2, stderr: `release: ${file} is not readable (permission denied)` });
  });

  test.concurrent("status reads a read-only stack file without complaint", async () => {
    const { dir } = track(stackCopy(NOBODY, 0o444));
    const run = await runRelease(["dev", "room-api", "status", "--stacks-dir", dir], { user: NOBODY });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/stable +registry\.classroom\.internal\/room-api:1\.8\.2/);
  });
});

describe("writes keep what the file is", () => {
  test.concurrent("mode 0600 stays 0600 (as an unprivileged user)", async () => {
    const { dir, file } = track(stackCopy(NOBODY, 0o600));
    const run = await runRelease([...STEP, "--stacks-dir", dir], { user: NOBODY });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toContain(CANARY_LINE);
    expect(mode(file)).toBe(0o600);
    expect(fs.statSync(file).uid).toBe(NOBODY.uid);
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.dev.yaml"]);
  });

  test.concurrent("a symlinked stack file: the edit reaches the target and the link stays a link (as an unprivileged user)", async () => {
    const { dir, file: target } = track(stackCopy(NOBODY, 0o640));
    const stacks = path.join(dir, "stacks");
    fs.mkdirSync(stacks);
    fs.chownSync(stacks, NOBODY.uid, NOBODY.gid);
    const link = path.join(stacks, "Pulumi.dev.yaml");
    fs.symlinkSync("../Pulumi.dev.yaml", link);
    const run = await runRelease([...STEP, "--stacks-dir", stacks], { user: NOBODY });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe("../Pulumi.dev.yaml");
    expect(fs.readFileSync(target, "utf8")).toContain(CANARY_LINE);
    expect(mode(target)).toBe(0o640);
  });

  test.concurrent("a group-writable file of another owner is edited by a member of the group, owner and group kept", async () => {
    // root owns the file and its folder; nobody may write the file only through its group.
    const { dir, file } = track(stackCopy({ uid: 0, gid: NOBODY.gid }, 0o664));
    fs.chownSync(dir, 0, 0);
    fs.chmodSync(dir, 0o755);
    const run = await runRelease([...STEP, "--stacks-dir", dir], { user: NOBODY });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toContain(CANARY_LINE);
    const stat = fs.statSync(file);
    expect({ uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 }).toEqual({ uid: 0, gid: NOBODY.gid, mode: 0o664 });
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.dev.yaml"]);
  });

  test.concurrent("owner and group stay when root edits another user's file", async () => {
    const { dir, file } = track(stackCopy(NOBODY, 0o640));
    const run = await runRelease([...STEP, "--stacks-dir", dir]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toContain(CANARY_LINE);
    const stat = fs.statSync(file);
    expect({ uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 }).toEqual({ ...NOBODY, mode: 0o640 });
  });
});
