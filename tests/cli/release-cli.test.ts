import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { PROJECT_ROOT } from "../../tools/synth/stack-config";

/**
 * `npm run release` as a user runs it: a child process on a copy of the stacks directory (--stacks-dir),
 * so the project's own stack files are never touched. PATH is stripped of any `pulumi`, and every
 * command that could write passes --no-deploy or --dry-run.
 */
let stacksDir: string;
const file = (stack: string) => path.join(stacksDir, `Pulumi.${stack}.yaml`);

beforeAll(() => {
  stacksDir = fs.mkdtempSync(path.join(os.tmpdir(), "release-cli-test-"));
  for (const f of fs.readdirSync(path.join(PROJECT_ROOT, "stacks"))) fs.copyFileSync(path.join(PROJECT_ROOT, "stacks", f), path.join(stacksDir, f));
  // A stack whose whiteboard-rpc lost its stable track and whose course-api stable runs no pods.
  const doc = parseDocument(fs.readFileSync(file("dev"), "utf8"));
  doc.deleteIn(["config", "classroom:services", "whiteboard-rpc", "stable"]);
  doc.setIn(["config", "classroom:services", "course-api", "stable", "replicas"], 0);
  fs.writeFileSync(file("broken"), doc.toString());
});
afterAll(() => fs.rmSync(stacksDir, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI; `extraPath` goes in front of a PATH that otherwise holds no `pulumi`. */
function release(args: string[], extraPath?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const withoutPulumi = (process.env.PATH ?? "").split(path.delimiter).filter((d) => !fs.existsSync(path.join(d, "pulumi")));
    const env = { ...process.env, PATH: [...(extraPath ? [extraPath] : []), ...withoutPulumi].join(path.delimiter) };
    const child = spawn("npx", ["tsx", "tools/release/cli.ts", ...args, "--stacks-dir", stacksDir], { cwd: PROJECT_ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the commands a few at a time: each is mostly interpreter start-up. */
async function runAll(commands: string[][], concurrency = 3): Promise<Run[]> {
  const results: Run[] = new Array(commands.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < commands.length) {
      const i = next++;
      results[i] = await release(commands[i]);
    }
  }));
  return results;
}

function checksums(): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(stacksDir).sort().map((f) => [f, crypto.createHash("sha256").update(fs.readFileSync(path.join(stacksDir, f))).digest("hex")]));
}

const IMAGE = "registry.classroom.internal/room-api:1.9.0";

describe("release CLI: bad requests get one clear line, a non-zero exit and no file change", () => {
  const cases: Array<{ name: string; args: string[]; error: RegExp }> = [
    { name: "unknown stack", args: ["nope", "room-api", "status"], error: /stack 'nope' is unknown: .*\(stacks: broken, dev, local, prod, staging\)/ },
    { name: "unknown service", args: ["dev", "nope", "canary", "--image", IMAGE, "--weight", "10"], error: /service 'nope' is unknown .*\(services: room-api, course-api, session-rpc, whiteboard-rpc, attendance-consumer\)/ },
    { name: "weight 150", args: ["dev", "room-api", "weight", "150"], error: /weight must be a whole number between 0 and 100, got '150'/ },
    { name: "canary --weight 150", args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "150"], error: /--weight must be a whole number between 0 and 100, got '150'/ },
    { name: "canary without stable", args: ["broken", "whiteboard-rpc", "canary", "--image", "registry.classroom.internal/whiteboard-rpc:1.13.0", "--weight", "10"], error: /service 'whiteboard-rpc' has no stable track/ },
    { name: "canary over a stable track with no pods", args: ["broken", "course-api", "canary", "--image", "registry.classroom.internal/course-api:2.4.0", "--weight", "10"], error: /stable track with 0 replicas/ },
    { name: "promote with no canary", args: ["dev", "room-api", "promote"], error: /service 'room-api' has no canary to promote/ },
    { name: "weight with no canary", args: ["dev", "room-api", "weight", "20"], error: /service 'room-api' has no canary/ },
    { name: "rollback with nothing to roll back", args: ["dev", "course-api", "rollback"], error: /nothing to roll back for 'course-api': no canary and an empty release history/ },
    { name: "unknown action", args: ["dev", "room-api", "frobnicate"], error: /action 'frobnicate' is unknown \(actions: canary, weight, promote, rollback, status\)/ },
    { name: "canary without --image", args: ["dev", "room-api", "canary", "--weight", "10"], error: /canary needs --image <ref>/ },
    { name: "option that does not apply", args: ["dev", "room-api", "promote", "--image", IMAGE], error: /--image applies only to canary, not promote/ },
    { name: "image the schema rejects", args: ["dev", "room-api", "canary", "--image", "Not An Image", "--weight", "5"], error: /classroom:services\.room-api\.canary\.image must be an image reference/ },
    { name: "canary + legacy over 100", args: ["staging", "course-api", "canary", "--image", "registry.classroom.internal/course-api:2.4.0", "--weight", "90"], error: /classroom:services\.course-api\.canary\.weight plus legacy\.weight must be <= 100/ },
    { name: "missing action", args: ["dev", "room-api"], error: /missing required argument 'action'/ },
  ];
  let results: Run[];
  let before: Record<string, string>;

  beforeAll(async () => {
    before = checksums();
    results = await runAll(cases.map((c) => c.args));
  }, 180_000);

  test.each(cases.map((c, i) => [c.name, i] as const))("%s", (_name, i) => {
    const { code, stdout, stderr } = results[i];
    expect(code).not.toBe(0);
    expect(code).not.toBe(3);
    expect(stderr).toMatch(cases[i].error);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr.trim().split("\n").filter((l) => !l.startsWith("(run with --help")).length).toBe(1);
    expect(stdout).not.toMatch(/^wrote /m);
  });

  test("every stack file is byte-identical afterwards", () => {
    expect(checksums()).toEqual(before);
  });
});

describe("release CLI: a step shows the synth diff, writes the stack file and prints the deploy command", () => {
  test("--dry-run shows the diff and writes nothing", async () => {
    const before = checksums();
    const run = await release(["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--dry-run"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("synth diff dev: 2 added, 1 changed, 0 removed");
    expect(run.stdout).toContain("  + Deployment/classroom-dev-apps/room-api-canary");
    expect(run.stdout).toContain("      spec.rules[0].backendRefs[name=room-api-stable].weight: 100 -> 90");
    expect(run.stdout).toContain("not written");
    expect(checksums()).toEqual(before);
  }, 60_000);

  test("--no-deploy writes only the canary line and prints the exact pulumi command; status shows the tracks", async () => {
    const original = fs.readFileSync(file("dev"), "utf8");
    const run = await release(["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--no-deploy"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`pulumi up --stack dev --yes --cwd ${PROJECT_ROOT} --config-file ${file("dev")}`);
    const written = fs.readFileSync(file("dev"), "utf8");
    const added = written.split("\n").filter((l) => !original.split("\n").includes(l));
    expect(added).toEqual([`      canary: { image: ${IMAGE}, replicas: 1, weight: 10 }`]);
    expect(written.replace(`${added[0]}\n`, "")).toBe(original);

    const status = await release(["dev", "room-api", "status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/stable +registry\.classroom\.internal\/room-api:1\.8\.2 +replicas 1 +weight 90/);
    expect(status.stdout).toMatch(/canary +registry\.classroom\.internal\/room-api:1\.9\.0 +replicas 1 +weight 10/);
    expect(status.stdout).toContain("history  (empty)");
  }, 120_000);
});

describe("release CLI: deploying", () => {
  test("runs `pulumi up` for the stack with the edited file when a pulumi CLI is on PATH, and passes its exit code on", async () => {
    // A stand-in executable that records its arguments: what matters here is the command line handed over.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "release-cli-bin-"));
    try {
      const argsFile = path.join(bin, "args");
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\nexit 7\n`, { mode: 0o755 });
      const run = await release(["dev", "session-rpc", "canary", "--image", "registry.classroom.internal/session-rpc:3.2.0", "--weight", "30"], bin);
      expect(fs.readFileSync(argsFile, "utf8").trim().split("\n")).toEqual(["up", "--stack", "dev", "--yes", "--cwd", PROJECT_ROOT, "--config-file", file("dev")]);
      expect(run.stdout).toContain(`running: pulumi up --stack dev --yes --cwd ${PROJECT_ROOT}`);
      expect(run.code).toBe(7);
      expect(run.stderr).toContain("pulumi up exited with 7");
      expect(fs.readFileSync(file("dev"), "utf8")).toContain("session-rpc:3.2.0, replicas: 1, weight: 30 }");
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("release CLI: upgrade safety", () => {
  test("refuses a step that would also deploy a claim-size change since the baseline, unless --allow-data-loss", async () => {
    // The baseline is the dev stack as last deployed; the working file has since grown ZooKeeper's claim.
    const baseline = path.join(stacksDir, "deployed-dev.yaml");
    fs.copyFileSync(file("dev"), baseline);
    const doc = parseDocument(fs.readFileSync(file("dev"), "utf8"));
    doc.setIn(["config", "classroom:zookeeper", "storage", "size"], "7Gi");
    fs.writeFileSync(file("dev"), doc.toString());
    const before = checksums();

    const step = ["dev", "whiteboard-rpc", "canary", "--image", "registry.classroom.internal/whiteboard-rpc:1.13.0", "--weight", "20", "--baseline-file", baseline, "--no-deploy"];
    const refused = await release(step);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("StatefulSet/classroom-dev-data/zookeeper: spec.volumeClaimTemplates[name=data].spec.resources.requests.storage");
    expect(refused.stderr).toContain("--allow-data-loss");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(checksums()).toEqual(before);

    const accepted = await release([...step, "--allow-data-loss"]);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("upgrade hazards accepted with --allow-data-loss");
    expect(fs.readFileSync(file("dev"), "utf8")).toContain("whiteboard-rpc:1.13.0, replicas: 1, weight: 20 }");
  }, 120_000);
});
