import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { retentionScript } from "../../components/logs/retention";

const DAY = 86_400_000;

/**
 * The retention container's script, run for one pass with the machine's sh and find on a real directory
 * tree whose modification times are set the way days of logging would leave them.
 */
describe("log retention on the node: deletes only idle files the agent checkpointed after their last change", () => {
  let dir: string;
  let root: string;
  let state: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "retention-"));
    root = path.join(dir, "logs");
    state = path.join(dir, "state");
    fs.mkdirSync(state);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A file `rel` under the log root, last modified `ageDays` ago. */
  function file(rel: string, ageDays: number): string {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '{"event":"line"}\n');
    const t = new Date(Date.now() - ageDays * DAY);
    fs.utimesSync(p, t, t);
    return p;
  }

  /** The agent's checkpoint database, last written `ageMinutes` ago. */
  function checkpoint(ageMinutes: number): void {
    const p = path.join(state, "receiver_filelog_");
    fs.writeFileSync(p, "bbolt");
    const t = new Date(Date.now() - ageMinutes * 60_000);
    fs.utimesSync(p, t, t);
  }

  function pass(retentionDays = 7): string {
    const r = spawnSync("sh", ["-c", retentionScript({ logRoot: root, checkpointDir: state, retentionDays })], {
      env: { ...process.env, RETENTION_ONCE: "1" },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout;
  }

  it("deletes files idle longer than the retention, rotated copies included, and keeps recent ones", () => {
    const old = file("room-api/room-api-1_uid-a.log", 8);
    const oldRotated = file("room-api/room-api-2_uid-b.log.1", 30);
    const recent = file("room-api/room-api-3_uid-c.log", 6.5);
    const live = file("grader/grader-0_uid-d.log", 0);
    checkpoint(1);
    const out = pass();
    expect([old, oldRotated].map(fs.existsSync)).toEqual([false, false]);
    expect([recent, live].map(fs.existsSync)).toEqual([true, true]);
    expect(out).toContain(`deleted ${old}`);
  });

  it("deletes nothing while the agent is down or stuck (no checkpoint written in the last 15 minutes)", () => {
    const old = file("room-api/room-api-1_uid-a.log", 20);
    checkpoint(60);
    expect(pass()).toMatch(/no checkpoint written .* deleting nothing/);
    expect(fs.existsSync(old)).toBe(true);
  });

  it("deletes nothing before the agent's first checkpoint", () => {
    const old = file("room-api/room-api-1_uid-a.log", 20);
    expect(pass()).toMatch(/deleting nothing/);
    expect(fs.existsSync(old)).toBe(true);
  });

  it("never touches what is not a platform log file: other names, deeper or shallower paths", () => {
    const kept = [file("room-api/notes.txt", 40), file("room-api/archive/room-api-1_uid-a.log", 40), file("stray.log", 40)];
    const rotatedGz = file("room-api/room-api-1_uid-a.log.2.gz", 40);
    checkpoint(1);
    pass();
    expect(kept.map(fs.existsSync)).toEqual([true, true, true]);
    // A compressed rotation is still a `*.log.*` of a service: the agent excludes it, retention removes it.
    expect(fs.existsSync(rotatedGz)).toBe(false);
  });

  it("honours the configured number of days", () => {
    const nine = file("room-api/room-api-1_uid-a.log", 9);
    checkpoint(1);
    pass(10);
    expect(fs.existsSync(nine)).toBe(true);
    pass(9);
    expect(fs.existsSync(nine)).toBe(false);
  });
});
