import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../tools/synth";
import { checksums, copyOfStacks, pulumiStandIn, runRelease, TRACE } from "./release-runner";

/**
 * The deploy path of a release step, the way CI deploys: a preview of the edit with the stack's policy
 * pack and enforcement config, a confirmation (on a terminal) or --yes, and only then the write and
 * `pulumi up` with the same pack. A failed deploy leaves the file written, and the same command run
 * again deploys it instead of reporting "no change". The `pulumi` here is the stand-in of
 * release-runner.ts (it remembers what a successful `up` deployed): the real CLI cannot run this
 * project's Node program on this machine, and what is under test is the release's own decisions.
 */
jest.setTimeout(300_000);

const IMAGE = "registry.classroom.internal/session-rpc:3.2.0";
const CANARY = ["dev", "session-rpc", "canary", "--image", IMAGE, "--weight", "30"];
const POLICY = ["--policy-pack", path.join(PROJECT_ROOT, "policies"), "--policy-pack-config", path.join(PROJECT_ROOT, "policies", "config", "dev.json")];

/** A fresh copy of the stacks and a fresh stand-in per test, so the tests can run side by side. */
function setup() {
  const stacksDir = copyOfStacks("release-deploy-");
  const standIn = pulumiStandIn();
  const file = path.join(stacksDir, "Pulumi.dev.yaml");
  const run = (args: string[], env?: Record<string, string>) => runRelease([...args, "--stacks-dir", stacksDir], { binDir: standIn.binDir, env });
  const cleanup = () => {
    fs.rmSync(stacksDir, { recursive: true, force: true });
    standIn.cleanup();
  };
  return { stacksDir, standIn, file, run, cleanup };
}

test.concurrent("--yes: previews the edit with the policy pack before writing, then writes and runs `pulumi up` with the same pack", async () => {
  const t = setup();
  try {
    const run = await t.run([...CANARY, "--yes"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [preview, up, ...rest] = t.standIn.calls();
    expect(rest).toEqual([]);
    // The preview reads the edit from a temporary copy: the stack file is not written before the go-ahead.
    expect(preview.slice(0, 5)).toEqual(["preview", "--stack", "dev", "--cwd", PROJECT_ROOT]);
    expect(preview[5]).toBe("--config-file");
    expect(preview[6]).not.toBe(t.file);
    expect(preview.slice(7)).toEqual(POLICY);
    expect(up).toEqual(["up", "--yes", "--stack", "dev", "--cwd", PROJECT_ROOT, "--config-file", t.file, ...POLICY]);
    expect(run.stdout).toContain("wrote ");
    expect(run.stdout).toContain("deployed ");
    expect(fs.readFileSync(t.file, "utf8")).toContain(`canary: { image: ${IMAGE}, replicas: 1, weight: 30 }`);
  } finally {
    t.cleanup();
  }
});

test.concurrent("a failed deploy exits 1 with the file written; the same command again deploys it; once deployed it says no change", async () => {
  const t = setup();
  try {
    const failed = await t.run([...CANARY, "--yes"], { PULUMI_STANDIN_UP_EXIT: "255" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^release: pulumi up exited with 255; \S+Pulumi\.dev\.yaml is written but not deployed: run the same release command again/);
    expect(failed.stderr).not.toMatch(TRACE);
    const written = fs.readFileSync(t.file, "utf8");
    expect(written).toContain(`canary: { image: ${IMAGE}, replicas: 1, weight: 30 }`);

    const retry = await t.run([...CANARY, "--yes"]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).not.toMatch(/^no change/m);
    expect(retry.stdout).toContain("the stack does not run what");
    expect(
      t.standIn
        .calls()
        .slice(2)
        .map((c) => [c[0], c.includes("--expect-no-changes")]),
    ).toEqual([
      ["preview", true],
      ["up", false],
    ]);
    expect(fs.readFileSync(t.file, "utf8")).toBe(written);

    const again = await t.run([...CANARY, "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^no change: \S+ already says so and the stack runs it/m);
    expect(
      t.standIn
        .calls()
        .slice(4)
        .map((c) => c[0]),
    ).toEqual(["preview"]);
  } finally {
    t.cleanup();
  }
});

test.concurrent("a failed preview stops the step: exit 1, nothing written, no `up`", async () => {
  const t = setup();
  try {
    const before = checksums(t.stacksDir);
    const run = await t.run([...CANARY, "--yes"], { PULUMI_STANDIN_PREVIEW_EXIT: "255" });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe("release: pulumi preview of the edit exited with 255; nothing written, nothing deployed");
    expect(t.standIn.calls().map((c) => c[0])).toEqual(["preview"]);
    expect(checksums(t.stacksDir)).toEqual(before);
  } finally {
    t.cleanup();
  }
});

describe("on a terminal the release asks before it writes and deploys", () => {
  /** The CLI under a pseudo-terminal (util-linux `script`), answering `answer` to the question. */
  function onTerminal(t: ReturnType<typeof setup>, answer: string) {
    const command = [process.execPath, path.join(PROJECT_ROOT, "node_modules/tsx/dist/cli.mjs"), "tools/release/cli.ts", ...CANARY, "--stacks-dir", t.stacksDir]
      .map((a) => `'${a}'`)
      .join(" ");
    return runReleaseUnderScript(command, `${answer}\n`, t.standIn.binDir);
  }

  test.concurrent("answering no: exit 1, nothing written, nothing deployed", async () => {
    const t = setup();
    try {
      const before = checksums(t.stacksDir);
      const run = await onTerminal(t, "n");
      expect(run.stdout).toContain("and deploy stack dev? [y/N]");
      expect(run.stdout).toContain("deploy not confirmed; nothing written, nothing deployed");
      expect(run.code).toBe(1);
      expect(t.standIn.calls().map((c) => c[0])).toEqual(["preview"]);
      expect(checksums(t.stacksDir)).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  test.concurrent("answering yes: written and deployed", async () => {
    const t = setup();
    try {
      const run = await onTerminal(t, "y");
      expect(run.code).toBe(0);
      expect(t.standIn.calls().map((c) => c[0])).toEqual(["preview", "up"]);
      expect(fs.readFileSync(t.file, "utf8")).toContain(`canary: { image: ${IMAGE}, replicas: 1, weight: 30 }`);
    } finally {
      t.cleanup();
    }
  });
});

/** `script` gives the command a pseudo-terminal as stdin and stdout; its output is both streams. */
function runReleaseUnderScript(command: string, input: string, binDir: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const withoutPulumi = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d && !fs.existsSync(path.join(d, "pulumi")));
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PATH: [binDir, ...withoutPulumi].join(path.delimiter) },
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout }));
    child.stdin.end(input);
  });
}
