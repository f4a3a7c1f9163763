// The synth command as a user runs it (a spawned process): summary, exit codes, messages.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** Runs the synth CLI the way a user does, into a temp output directory. */
function synthCli(args: string[]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
  const run = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), "tools/synth/cli.ts", "--out", out, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  fs.rmSync(out, { recursive: true, force: true });
  return run;
}

describe("synth command", () => {
  it("prints the summary with the prod topology and exits 0", () => {
    const run = synthCli(["--stack", "prod"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/StatefulSet classroom-prod-data\/zookeeper\s+3x/);
    expect(run.stdout).toMatch(/kafka-controller\s+3x/);
    expect(run.stdout).toMatch(/kafka-broker\s+3x/);
    expect(run.stdout).toMatch(/redis-sentinel\s+3x/);
    expect(run.stdout).toMatch(/mysql\s+2x/);
  });

  it("rejects a bad stack file with key-naming lines, exit 2, no stack trace, and writes nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    const file = path.join(dir, "Pulumi.bad.yaml");
    fs.writeFileSync(file, "config:\n  classroom:environment: dev\n  classroom:zookeeper:\n    replicas: 2\n  classroom:redis:\n    mode: cluster\n");
    const run = synthCli(["--stack", "bad", "--stack-file", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("classroom:zookeeper.replicas must be an odd number >= 1, got 2");
    expect(run.stderr).toContain('classroom:redis.mode must be one of standalone, sentinel, got "cluster"');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("names the stacks that exist when asked for one that does not", () => {
    const run = synthCli(["--stack", "qa"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("synth: --stack qa: no stack file stacks/Pulumi.qa.yaml (stacks: dev, local, prod, staging)\n");
  });
});
